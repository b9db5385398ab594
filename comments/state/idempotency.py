"""Remembered idempotency keys: (user, key) → the comment it stored.

This is the fast half; the unique (idempotency_key, author) of models.CommentKey
is the durable half, so a key forgotten here still never stores twice.
"""

import time
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from typing import Protocol

from livecomments.redis_topology import shard_of_user

from .redis_client import client, every_shard, on_each_shard, run_script, user_client

TTL_SECONDS = 24 * 3600


def remembered_key(user_id: int, idempotency_key: str) -> str:
    """Where a user's key is remembered, on the user's shard (the rate limiter looks too)."""
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

# KEYS: the unpublished set, then where each entry's key is remembered. ARGV: the time
# (ms), then each entry's comment id, then each entry's member of the unpublished set.
_REMEMBER = """
local count = #KEYS - 1
for i = 1, count do
  redis.call('SET', KEYS[i + 1], ARGV[i + 1], 'EX', %d)
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i + 1 + count])
end
redis.call('EXPIRE', KEYS[1], %d)
""" % (TTL_SECONDS, TTL_SECONDS)

# Take the entries older than ARGV[1] (ms), at most 100, so that no other gateway gets them.
_CLAIM = """
local found = redis.call('ZRANGEBYSCORE', KEYS[1], 0, ARGV[1], 'LIMIT', 0, 100)
for _, member in ipairs(found) do redis.call('ZREM', KEYS[1], member) end
return found
"""


def _member(user_id: int, idempotency_key: str, comment_id: int) -> str:
    return f"{user_id}:{idempotency_key}:{comment_id}"


Entry = tuple[int, str, int]  # user id, key, comment id


def _by_user_shard(entries: list[Entry]) -> dict[int, list[Entry]]:
    by_shard: dict[int, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_shard[shard_of_user(entry[0])].append(entry)
    return by_shard


class RedisIdempotencyStore:
    # Remembered entries also wait in a sorted set, by time, until their batch is out: one
    # left there was stored by a gateway that may have died before publishing it. Keys and
    # that set live on the user's shard, each shard with a set of its own; a lost shard is
    # left out (on_each_shard) and holds up no other shard's streams.
    async def get(self, user_id: int, idempotency_key: str) -> int | None:
        found = await user_client(user_id).get(remembered_key(user_id, idempotency_key))
        return int(found) if found is not None else None

    async def remember(self, entries: list[Entry]) -> None:
        # Left out on a lost shard: the database still refuses a key twice, and this gateway
        # publishes the comments next; only the sweep would miss them if it died first.
        now_ms = int(time.time() * 1000)

        def remember_on(shard: int, found: list[Entry]) -> Callable[[], Awaitable[None]]:
            keys = [_UNPUBLISHED, *(remembered_key(user_id, key) for user_id, key, _ in found)]
            members = [_member(*entry) for entry in found]
            args = [now_ms, *(comment_id for _, _, comment_id in found), *members]
            return lambda: run_script(client(shard), _REMEMBER, keys, args)

        by_shard = _by_user_shard(entries)
        work = {shard: remember_on(shard, found) for shard, found in by_shard.items()}
        await on_each_shard(work, "remembering idempotency keys")

    async def mark_published(self, entries: list[Entry]) -> None:
        for shard, found in _by_user_shard(entries).items():
            await client(shard).zrem(_UNPUBLISHED, *(_member(*entry) for entry in found))

    async def claim_unpublished(self, older_than_seconds: float) -> list[Entry]:
        cutoff_ms = int((time.time() - older_than_seconds) * 1000)

        def claim_on(shard: int) -> Callable[[], Awaitable[list[bytes]]]:
            return lambda: run_script(client(shard), _CLAIM, [_UNPUBLISHED], [cutoff_ms])

        # A lost shard's entries wait there until it is back; the others are swept.
        work = {shard: claim_on(shard) for shard in every_shard()}
        claimed = []
        for found in (await on_each_shard(work, "sweeping unpublished comments")).values():
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
        found = self._entries.get(remembered_key(user_id, idempotency_key))
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
            self._entries[remembered_key(user_id, idempotency_key)] = (comment_id, expires_at)
        while len(self._entries) > self.MAX_ENTRIES:
            self._entries.popitem(last=False)
