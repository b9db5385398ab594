"""Remembered idempotency keys: (user, key) → the comment it stored.

This is the fast half; the unique (idempotency_key, author) of models.CommentKey
is the durable half, so a key forgotten here still never stores twice.
"""

import time
from collections import OrderedDict
from typing import Protocol

from .redis_client import client

TTL_SECONDS = 24 * 3600


def _key(user_id: int, idempotency_key: str) -> str:
    return f"idem:{user_id}:{idempotency_key}"


class IdempotencyStore(Protocol):
    async def get(self, user_id: int, idempotency_key: str) -> int | None: ...

    async def remember(self, entries: list[tuple[int, str, int]]) -> None:
        """Remember (user id, key, comment id) triples."""
        ...

    async def mark_published(self, entries: list[tuple[int, str, int]]) -> None:
        """Note that these comments' batch went out to viewers."""
        ...

    async def claim_unpublished(self, older_than_seconds: float) -> list[tuple[int, str, int]]:
        """Take remembered entries not published for this long; each goes to one caller."""
        ...


_UNPUBLISHED = "idem:unpublished"

# Take the entries older than ARGV[1] (ms), at most 100, so that no other gateway gets them.
_CLAIM = """
local found = redis.call('ZRANGEBYSCORE', KEYS[1], 0, ARGV[1], 'LIMIT', 0, 100)
for _, member in ipairs(found) do redis.call('ZREM', KEYS[1], member) end
return found
"""


def _member(user_id: int, idempotency_key: str, comment_id: int) -> str:
    return f"{user_id}:{idempotency_key}:{comment_id}"


class RedisIdempotencyStore:
    # Remembered entries also wait in a sorted set, by time, until their batch is out: one
    # left there was stored by a gateway that may have died before publishing it.
    async def get(self, user_id: int, idempotency_key: str) -> int | None:
        found = await client().get(_key(user_id, idempotency_key))
        return int(found) if found is not None else None

    async def remember(self, entries: list[tuple[int, str, int]]) -> None:
        if not entries:
            return
        now_ms = int(time.time() * 1000)
        async with client().pipeline(transaction=False) as pipe:
            for user_id, idempotency_key, comment_id in entries:
                pipe.set(_key(user_id, idempotency_key), comment_id, ex=TTL_SECONDS)
            pipe.zadd(_UNPUBLISHED, {_member(*entry): now_ms for entry in entries})
            pipe.expire(_UNPUBLISHED, TTL_SECONDS)
            await pipe.execute()

    async def mark_published(self, entries: list[tuple[int, str, int]]) -> None:
        if entries:
            await client().zrem(_UNPUBLISHED, *(_member(*entry) for entry in entries))

    async def claim_unpublished(self, older_than_seconds: float) -> list[tuple[int, str, int]]:
        cutoff_ms = int((time.time() - older_than_seconds) * 1000)
        found = await client().register_script(_CLAIM)(keys=[_UNPUBLISHED], args=[cutoff_ms])
        claimed = []
        for raw in found:
            user_id, idempotency_key, comment_id = raw.decode().rsplit(":", 2)
            claimed.append((int(user_id), idempotency_key, int(comment_id)))
        return claimed


class MemoryIdempotencyStore:
    MAX_ENTRIES = 200_000

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._entries: OrderedDict[str, tuple[int, float]] = OrderedDict()

    async def get(self, user_id: int, idempotency_key: str) -> int | None:
        found = self._entries.get(_key(user_id, idempotency_key))
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    async def mark_published(self, entries: list[tuple[int, str, int]]) -> None:
        pass

    async def claim_unpublished(self, older_than_seconds: float) -> list[tuple[int, str, int]]:
        return []  # one process: whatever it stored, it published or died with its viewers

    async def remember(self, entries: list[tuple[int, str, int]]) -> None:
        expires_at = self._clock() + TTL_SECONDS
        for user_id, idempotency_key, comment_id in entries:
            self._entries[_key(user_id, idempotency_key)] = (comment_id, expires_at)
        while len(self._entries) > self.MAX_ENTRIES:
            self._entries.popitem(last=False)
