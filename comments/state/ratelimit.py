"""Admitting a post: its idempotency key, then the rate limits (SPEC §3).

`admit` first looks for the comment the user's key stored before (a retry after a lost
ack gets that comment, counting nothing); then it either counts the post against every
limit (fixed windows per the seed, plus a stream's slow mode) or, when any limit is full,
counts nothing and says how many seconds to wait. A post's key counts once: a retry of a
key already counted (its first gateway died before answering) passes without counting
again. On Redis that is one script on the user's shard, one round trip per post.
"""

import math
import time
from dataclasses import dataclass
from typing import Protocol

from livecomments.redis_topology import client, shard_of_stream, shard_of_user

from .idempotency import IdempotencyStore, remembered_key
from .redis_client import run_script

Limit = tuple[int, int]  # (comments, seconds)


@dataclass(frozen=True)
class Admission:
    wait_seconds: int = 0  # > 0: refused for now, nothing counted
    stored_comment_id: int | None = None  # the key stored this comment before: nothing counted


ADMITTED = Admission()


class RateLimiter(Protocol):
    async def admit(
        self, user_id: int, stream_id: int, slow_mode_seconds: int, idempotency_key: str
    ) -> Admission:
        """Say what the key stored before, or count the post, or say how long to wait."""
        ...


def _keys(user_id: int, stream_id: int, idempotency_key: str) -> tuple[str, str, str, str]:
    return (
        f"rl:user:{user_id}",
        f"rl:stream:{stream_id}:user:{user_id}",
        f"rl:slow:{stream_id}:user:{user_id}",
        f"rl:counted:{user_id}:{idempotency_key}",
    )


# Counts a post against the windows of one shard, or none of them when any is full.
# KEYS: where the key's comment is remembered (looked at only when ARGV[4] is 1), this
# key's "counted" marker, then ARGV[1] window keys, then the slow-mode marker (only when
# ARGV[2] > 0). ARGV: window count, slow-mode ms, the marker's lifetime (ms), whether to
# look for a remembered comment, then a limit and a length (ms) per window. Returns the
# remembered comment id (a string), or the ms to wait, 0 when counted now, -1 when this
# key was counted before.
_ADMIT = """
if ARGV[4] == '1' then
  local stored = redis.call('GET', KEYS[1])
  if stored then return stored end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local windows = tonumber(ARGV[1])
local slow_ms = tonumber(ARGV[2])
local wait = 0
for i = 1, windows do
  local count = tonumber(redis.call('GET', KEYS[i + 2]) or '0')
  if count >= tonumber(ARGV[3 + 2 * i]) then
    local ttl = redis.call('PTTL', KEYS[i + 2])
    if ttl < 0 then ttl = 1000 end
    if ttl > wait then wait = ttl end
  end
end
if slow_ms > 0 then
  local ttl = redis.call('PTTL', KEYS[windows + 3])
  if ttl > wait then wait = ttl end
end
if wait > 0 then return wait end
for i = 1, windows do
  if redis.call('INCR', KEYS[i + 2]) == 1 then
    redis.call('PEXPIRE', KEYS[i + 2], ARGV[4 + 2 * i])
  end
end
if slow_ms > 0 then redis.call('SET', KEYS[windows + 3], '1', 'PX', slow_ms) end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return 0
"""

# Takes back a count of _ADMIT (same KEYS and ARGV) that another shard refused.
_UNCOUNT = """
if redis.call('DEL', KEYS[2]) == 0 then return 0 end
local windows = tonumber(ARGV[1])
for i = 1, windows do
  if tonumber(redis.call('GET', KEYS[i + 2]) or '0') > 0 then redis.call('DECR', KEYS[i + 2]) end
end
if tonumber(ARGV[2]) > 0 then redis.call('DEL', KEYS[windows + 3]) end
return 1
"""


class _Part:
    """The keys and arguments of the windows that live on one shard."""

    def __init__(
        self,
        remembered: str | None,
        marker: str,
        windows: list[tuple[str, Limit]],
        slow_key: str,
        slow_ms: int,
    ) -> None:
        longest = max([seconds * 1000 for _, (_, seconds) in windows] + [slow_ms])
        self.keys = [remembered or marker, marker, *(key for key, _ in windows)]
        self.keys += [slow_key] if slow_ms else []
        self.args = [len(windows), slow_ms, longest, int(remembered is not None)]
        for _, (count, seconds) in windows:
            self.args += [count, seconds * 1000]


class RedisRateLimiter:
    """The key and both windows in one script when the user's and the stream's shards are
    the same server; otherwise the user's part (the key, the user's window), then the
    stream's, taking the first back when the second refuses (a script touches one shard's
    keys only)."""

    def __init__(self, global_limit: Limit, stream_limit: Limit) -> None:
        self.global_limit = global_limit
        self.stream_limit = stream_limit

    async def admit(
        self, user_id: int, stream_id: int, slow_mode_seconds: int, idempotency_key: str
    ) -> Admission:
        global_key, stream_key, slow_key, counted_key = _keys(user_id, stream_id, idempotency_key)
        remembered = remembered_key(user_id, idempotency_key)
        slow_ms = slow_mode_seconds * 1000
        user_shard, stream_shard = shard_of_user(user_id), shard_of_stream(stream_id)
        if user_shard == stream_shard:
            windows = [(global_key, self.global_limit), (stream_key, self.stream_limit)]
            whole = _Part(remembered, counted_key, windows, slow_key, slow_ms)
            return _admission(await self._run(_ADMIT, user_shard, whole))
        user_part = _Part(remembered, counted_key, [(global_key, self.global_limit)], slow_key, 0)
        stream_part = _Part(
            None,
            f"rl:counted:{stream_id}:{user_id}:{idempotency_key}",
            [(stream_key, self.stream_limit)],
            slow_key,
            slow_ms,
        )
        user_reply = await self._run(_ADMIT, user_shard, user_part)
        user_answer = _admission(user_reply)
        if user_answer != ADMITTED:
            return user_answer
        stream_answer = _admission(await self._run(_ADMIT, stream_shard, stream_part))
        # Taken back only if counted now (0), not if counted by an earlier try (-1).
        if stream_answer.wait_seconds and user_reply == 0:
            await self._run(_UNCOUNT, user_shard, user_part)
        return stream_answer

    async def _run(self, source: str, shard: int, part: _Part) -> int | bytes | str:
        return await run_script(client(shard), source, part.keys, part.args)


def _admission(answer: int | bytes | str) -> Admission:
    if isinstance(answer, bytes | str):
        return Admission(stored_comment_id=int(answer))
    return Admission(wait_seconds=_seconds(answer)) if answer > 0 else ADMITTED


def _seconds(wait_ms: int) -> int:
    return math.ceil(max(wait_ms, 0) / 1000)


class MemoryRateLimiter:
    def __init__(
        self,
        global_limit: Limit,
        stream_limit: Limit,
        remembered: IdempotencyStore,
        clock=time.monotonic,
    ) -> None:
        self.global_limit = global_limit
        self.stream_limit = stream_limit
        self._remembered = remembered
        self._clock = clock
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (count, expires at)

    def _live(self, key: str, now: float) -> tuple[int, float]:
        count, expires_at = self._windows.get(key, (0, 0.0))
        if expires_at <= now:
            self._windows.pop(key, None)
            return 0, 0.0
        return count, expires_at

    async def admit(
        self, user_id: int, stream_id: int, slow_mode_seconds: int, idempotency_key: str
    ) -> Admission:
        stored = await self._remembered.get(user_id, idempotency_key)
        if stored is not None:
            return Admission(stored_comment_id=stored)
        now = self._clock()
        global_key, stream_key, slow_key, counted_key = _keys(user_id, stream_id, idempotency_key)
        if self._live(counted_key, now)[0]:
            return ADMITTED
        wait = 0.0
        for key, (limit, _seconds) in (
            (global_key, self.global_limit),
            (stream_key, self.stream_limit),
        ):
            count, expires_at = self._live(key, now)
            if count >= limit:
                wait = max(wait, expires_at - now)
        if slow_mode_seconds > 0:
            _, slow_until = self._live(slow_key, now)
            wait = max(wait, slow_until - now)
        if wait > 0:
            return Admission(wait_seconds=math.ceil(wait))
        for key, (_limit, seconds) in (
            (global_key, self.global_limit),
            (stream_key, self.stream_limit),
        ):
            count, expires_at = self._live(key, now)
            self._windows[key] = (count + 1, expires_at or now + seconds)
        if slow_mode_seconds > 0:
            self._windows[slow_key] = (1, now + slow_mode_seconds)
        longest = max(self.global_limit[1], self.stream_limit[1], slow_mode_seconds)
        self._windows[counted_key] = (1, now + longest)
        if len(self._windows) > 100_000:
            for key in [k for k, (_, exp) in self._windows.items() if exp <= now]:
                del self._windows[key]
        return ADMITTED
