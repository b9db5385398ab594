"""The recent-comments cache for backfill: the newest 1,000 visible comments per stream.

Entries are rendered wire comments (dicts with string ids). A stream's cache is usable
once loaded from the database; `floor` says from which id on it is complete. Appends
after each commit keep it current; moderation that changes a comment invalidates it,
and a hidden id is also recorded so that a racing append cannot bring it back.
A load that raced with an invalidation is dropped (generation check).

Each load stamps the cache with a new version and each append counts what it pushed, so
that a process keeps its parsed copy and reads only what was pushed since its last read:
a join storm on a busy stream would otherwise move and parse up to 2,000 comments per
socket to send each one 50.
"""

import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from ..rendering import WireComment
from .redis_client import run_script, stream_client

CAPACITY = 1000
TTL_SECONDS = 3600
# Streams whose parsed cache a process keeps (a few busy streams take the joins).
PARSED_STREAMS = 16


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


# KEYS: the stream's list, meta, hidden; ARGV: generation, floor, a new load version, the
# comments.
_LOAD = """
if tonumber(redis.call('HGET', KEYS[2], 'gen') or '0') ~= tonumber(ARGV[1]) then return 0 end
for i = 4, #ARGV do redis.call('LPUSH', KEYS[1], ARGV[i]) end
redis.call('LTRIM', KEYS[1], 0, %d)
redis.call('HSET', KEYS[2], 'floor', ARGV[2], 'ver', ARGV[3], 'pushed', 0)
redis.call('EXPIRE', KEYS[1], %d)
redis.call('EXPIRE', KEYS[2], %d)
return 1
""" % (CAPACITY * 2 - 1, TTL_SECONDS, TTL_SECONDS)

# KEYS: the stream's list, meta; ARGV: the comments, oldest first. A loaded cache counts
# what was pushed since its load, so that a reader fetches only those (_READ).
_APPEND = """
for i = 1, #ARGV do redis.call('LPUSH', KEYS[1], ARGV[i]) end
redis.call('LTRIM', KEYS[1], 0, %d)
redis.call('EXPIRE', KEYS[1], %d)
if redis.call('HEXISTS', KEYS[2], 'floor') == 1 then
  redis.call('HINCRBY', KEYS[2], 'pushed', #ARGV)
end
""" % (CAPACITY * 2 - 1, TTL_SECONDS)

# KEYS: the stream's list, meta, hidden; ARGV: the load version the reader holds and how
# many comments pushed since that load it has read. Returns {gen} when unloaded; else
# {gen, floor, version, pushed, 'since', those pushed after the reader's, newest first}
# while the reader's load is the cache's, or {gen, floor, version, pushed, 'all', the
# whole list, the hidden ids}.
_READ = (
    """
local meta = redis.call('HMGET', KEYS[2], 'gen', 'floor', 'ver', 'pushed')
local reply = {meta[1] or '0'}
if not meta[2] then return reply end
local pushed = tonumber(meta[4] or '0')
reply[2], reply[3], reply[4] = meta[2], meta[3] or '', pushed
local new = pushed - tonumber(ARGV[2])
if meta[3] == ARGV[1] and new >= 0 and new <= %d then
  reply[5] = 'since'
  reply[6] = new > 0 and redis.call('LRANGE', KEYS[1], 0, new - 1) or {}
else
  reply[5] = 'all'
  reply[6] = redis.call('LRANGE', KEYS[1], 0, -1)
  reply[7] = redis.call('SMEMBERS', KEYS[3])
end
return reply
"""
    % CAPACITY
)

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


class _Parsed:
    """A process's copy of a stream's cache, as of one load and what was pushed since."""

    def __init__(self, version: bytes, floor: int, hidden: set[int]) -> None:
        self.version = version
        self.floor = floor
        self.hidden = hidden
        self.pushed = 0
        self.by_id: dict[int, WireComment] = {}
        self.cached = CachedComments(floor, [])

    def add(self, raw: list[bytes], pushed: int) -> None:
        for item in raw:
            comment = orjson.loads(item)
            self.by_id[int(comment["id"])] = comment
        if len(self.by_id) > CAPACITY * 2:  # as the list's LTRIM bounds it
            for comment_id in sorted(self.by_id)[: -CAPACITY * 2]:
                del self.by_id[comment_id]
        self.pushed = pushed
        self.cached = _finish(self.floor, self.by_id, self.hidden)


class RedisRecentComments:
    shared = True

    def __init__(self) -> None:
        # Per stream, what this process last read; least recently read first.
        self._parsed: OrderedDict[int, _Parsed] = OrderedDict()

    async def read(self, stream_id: int) -> tuple[int, CachedComments | None]:
        known = self._parsed.get(stream_id)
        args = [known.version, known.pushed] if known is not None else ["", 0]
        reply = await run_script(stream_client(stream_id), _READ, _keys(stream_id), args)
        generation = int(reply[0])
        if len(reply) == 1:
            self._parsed.pop(stream_id, None)
            return generation, None
        floor, version, pushed, raw = int(reply[1]), reply[2], int(reply[3]), reply[5]
        if known is None or reply[4] in (b"all", "all"):
            known = self._parsed[stream_id] = _Parsed(version, floor, {int(i) for i in reply[6]})
            if len(self._parsed) > PARSED_STREAMS:
                self._parsed.popitem(last=False)
        if raw or known.pushed != pushed or not known.by_id:
            known.add(raw, pushed)
        self._parsed.move_to_end(stream_id)
        return generation, known.cached

    async def load(self, stream_id: int, generation: int, comments: list[WireComment]) -> None:
        floor = _floor_of_load(comments)
        args = [generation, floor, uuid.uuid4().hex, *(orjson.dumps(c) for c in comments)]
        await run_script(stream_client(stream_id), _LOAD, _keys(stream_id), args)

    async def append(self, stream_id: int, comments: list[WireComment]) -> None:
        if not comments:
            return
        key, meta, _ = _keys(stream_id)
        args = [orjson.dumps(c) for c in comments]
        await run_script(stream_client(stream_id), _APPEND, [key, meta], args)

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
