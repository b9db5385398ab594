"""The recent-comments cache for backfill: the newest 1,000 visible comments per stream.

Entries are rendered wire comments (dicts with string ids). A stream's cache is usable
once loaded from the database; `floor` says from which id on it is complete. Appends
after each commit keep it current; moderation that changes a comment invalidates it,
and a hidden id is also recorded so that a racing append cannot bring it back.
A load that raced with an invalidation is dropped (generation check).
"""

import time
from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from ..rendering import WireComment
from .redis_client import run_script, stream_client

CAPACITY = 1000
TTL_SECONDS = 3600


class CachedComments:
    def __init__(self, floor: int, comments: list[WireComment]) -> None:
        # Complete for every visible comment with id >= floor; ascending by id.
        self.floor = floor
        self.comments = comments


class RecentComments(Protocol):
    # Whether every gateway reads the same cache (Redis) or each process its own (memory).
    shared: bool

    async def read(self, stream_id: int) -> tuple[int, CachedComments | None]:
        """Return (generation, cached comments or None when the stream is not loaded)."""
        ...

    async def load(self, stream_id: int, generation: int, comments: list[WireComment]) -> None:
        """Store comments read from the database, unless invalidated since `generation`."""
        ...

    async def append(self, stream_id: int, comments: list[WireComment]) -> None: ...

    async def invalidate(
        self, stream_id: int, hidden_ids: Sequence[int] = (), shown_ids: Sequence[int] = ()
    ) -> None:
        """Drop the stream's cache; remember newly hidden ids, forget unhidden ones."""
        ...


def _finish(floor: int, by_id: dict[int, WireComment], hidden: set[int]) -> CachedComments:
    ids = sorted(i for i in by_id if i not in hidden)
    if len(ids) >= CAPACITY:
        ids = ids[-CAPACITY:]
        floor = max(floor, ids[0])
    return CachedComments(floor, [by_id[i] for i in ids])


def _floor_of_load(comments: list[WireComment]) -> int:
    # Fewer than CAPACITY comments means the database had no more: complete from 0.
    return int(comments[0]["id"]) if len(comments) >= CAPACITY else 0


def _keys(stream_id: int) -> tuple[str, str, str]:
    base = f"recent:stream:{stream_id}"
    return base, f"{base}:meta", f"{base}:hidden"


_LOAD = """
if tonumber(redis.call('HGET', KEYS[2], 'gen') or '0') ~= tonumber(ARGV[1]) then return 0 end
for i = 3, #ARGV do redis.call('LPUSH', KEYS[1], ARGV[i]) end
redis.call('LTRIM', KEYS[1], 0, %d)
redis.call('HSET', KEYS[2], 'floor', ARGV[2])
redis.call('EXPIRE', KEYS[1], %d)
redis.call('EXPIRE', KEYS[2], %d)
return 1
""" % (CAPACITY * 2 - 1, TTL_SECONDS, TTL_SECONDS)

# KEYS[1]: the stream's list; ARGV: the comments, oldest first.
_APPEND = """
for i = 1, #ARGV do redis.call('LPUSH', KEYS[1], ARGV[i]) end
redis.call('LTRIM', KEYS[1], 0, %d)
redis.call('EXPIRE', KEYS[1], %d)
""" % (CAPACITY * 2 - 1, TTL_SECONDS)

_INVALIDATE = """
redis.call('HINCRBY', KEYS[2], 'gen', 1)
redis.call('HDEL', KEYS[2], 'floor')
redis.call('EXPIRE', KEYS[2], %d)
redis.call('DEL', KEYS[1])
local hidden_count = tonumber(ARGV[1])
for i = 2, #ARGV do
  if i <= hidden_count + 1 then redis.call('SADD', KEYS[3], ARGV[i])
  else redis.call('SREM', KEYS[3], ARGV[i]) end
end
redis.call('EXPIRE', KEYS[3], %d)
return 1
""" % (TTL_SECONDS, TTL_SECONDS)


class RedisRecentComments:
    shared = True

    async def read(self, stream_id: int) -> tuple[int, CachedComments | None]:
        key, meta, hidden = _keys(stream_id)
        async with stream_client(stream_id).pipeline(transaction=True) as pipe:
            pipe.hgetall(meta)
            pipe.lrange(key, 0, -1)
            pipe.smembers(hidden)
            meta_values, raw, hidden_raw = await pipe.execute()
        generation = int(meta_values.get(b"gen", 0))
        if b"floor" not in meta_values:
            return generation, None
        by_id = {}
        for item in raw:
            comment = orjson.loads(item)
            by_id[int(comment["id"])] = comment
        return generation, _finish(int(meta_values[b"floor"]), by_id, {int(i) for i in hidden_raw})

    async def load(self, stream_id: int, generation: int, comments: list[WireComment]) -> None:
        args = [generation, _floor_of_load(comments), *(orjson.dumps(c) for c in comments)]
        await run_script(stream_client(stream_id), _LOAD, _keys(stream_id), args)

    async def append(self, stream_id: int, comments: list[WireComment]) -> None:
        if not comments:
            return
        key, _meta, _ = _keys(stream_id)
        await run_script(
            stream_client(stream_id), _APPEND, [key], [orjson.dumps(c) for c in comments]
        )

    async def invalidate(
        self, stream_id: int, hidden_ids: Sequence[int] = (), shown_ids: Sequence[int] = ()
    ) -> None:
        args = [len(hidden_ids), *hidden_ids, *shown_ids]
        await run_script(stream_client(stream_id), _INVALIDATE, _keys(stream_id), args)


class MemoryRecentComments:
    shared = False

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._streams: dict[int, dict[str, Any]] = {}

    def _state(self, stream_id: int) -> dict[str, Any]:
        state = self._streams.get(stream_id)
        if state is None or state["expires_at"] <= self._clock():
            state = {
                "gen": 0,
                "floor": None,
                "by_id": {},
                "hidden": set(),
                "expires_at": self._clock() + TTL_SECONDS,
            }
            self._streams[stream_id] = state
        return state

    async def read(self, stream_id: int) -> tuple[int, CachedComments | None]:
        state = self._state(stream_id)
        if state["floor"] is None:
            return state["gen"], None
        return state["gen"], _finish(state["floor"], state["by_id"], state["hidden"])

    async def load(self, stream_id: int, generation: int, comments: list[WireComment]) -> None:
        state = self._state(stream_id)
        if state["gen"] != generation:
            return
        state["by_id"].update((int(c["id"]), c) for c in comments)
        state["floor"] = _floor_of_load(comments)
        self._trim(state)

    async def append(self, stream_id: int, comments: list[WireComment]) -> None:
        state = self._state(stream_id)
        state["by_id"].update((int(c["id"]), c) for c in comments)
        self._trim(state)

    async def invalidate(
        self, stream_id: int, hidden_ids: Sequence[int] = (), shown_ids: Sequence[int] = ()
    ) -> None:
        state = self._state(stream_id)
        state["gen"] += 1
        state["floor"] = None
        state["by_id"].clear()
        state["hidden"].update(hidden_ids)
        state["hidden"].difference_update(shown_ids)

    @staticmethod
    def _trim(state: dict[str, Any]) -> None:
        if len(state["by_id"]) > CAPACITY * 2:
            for comment_id in sorted(state["by_id"])[:-CAPACITY]:
                del state["by_id"][comment_id]
