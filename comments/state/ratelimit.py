"""Comment rate limits (SPEC §3): fixed windows per the seed, plus a stream's slow mode.

`check_and_count` either counts the post against every limit or, when any limit is
full, counts nothing and says how many seconds to wait. A post's idempotency key counts
once: a retry of a key already counted (its first gateway died before answering) passes
without counting again (SPEC §3).
"""

import math
import time
from typing import Protocol

from livecomments.redis_topology import client, shard_of_stream, shard_of_user

Limit = tuple[int, int]  # (comments, seconds)


class RateLimiter(Protocol):
    async def check_and_count(
        self, user_id: int, stream_id: int, slow_mode_seconds: int, idempotency_key: str
    ) -> int:
        """Return 0 and count the post, or the seconds to wait (> 0) without counting it."""
        ...


def _keys(user_id: int, stream_id: int, idempotency_key: str) -> tuple[str, str, str, str]:
    return (
        f"rl:user:{user_id}",
        f"rl:stream:{stream_id}:user:{user_id}",
        f"rl:slow:{stream_id}:user:{user_id}",
        f"rl:counted:{user_id}:{idempotency_key}",
    )


# Counts a post against the windows of one shard, or none of them when any is full.
# KEYS: this key's "counted" marker, then ARGV[1] window keys, then the slow-mode marker
# (only when ARGV[2] > 0). ARGV: window count, slow-mode ms, the marker's lifetime (ms),
# then a limit and a length (ms) per window. Returns the ms to wait, 0 when counted now,
# -1 when this key was counted before.
_CHECK_AND_COUNT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local windows = tonumber(ARGV[1])
local slow_ms = tonumber(ARGV[2])
local wait = 0
for i = 1, windows do
  local count = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
  if count >= tonumber(ARGV[2 + 2 * i]) then
    local ttl = redis.call('PTTL', KEYS[i + 1])
    if ttl < 0 then ttl = 1000 end
    if ttl > wait then wait = ttl end
  end
end
if slow_ms > 0 then
  local ttl = redis.call('PTTL', KEYS[windows + 2])
  if ttl > wait then wait = ttl end
end
if wait > 0 then return wait end
for i = 1, windows do
  if redis.call('INCR', KEYS[i + 1]) == 1 then
    redis.call('PEXPIRE', KEYS[i + 1], ARGV[3 + 2 * i])
  end
end
if slow_ms > 0 then redis.call('SET', KEYS[windows + 2], '1', 'PX', slow_ms) end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[3])
return 0
"""

# Takes back a count of _CHECK_AND_COUNT (same KEYS and ARGV) that another shard refused.
_UNCOUNT = """
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
local windows = tonumber(ARGV[1])
for i = 1, windows do
  if tonumber(redis.call('GET', KEYS[i + 1]) or '0') > 0 then redis.call('DECR', KEYS[i + 1]) end
end
if tonumber(ARGV[2]) > 0 then redis.call('DEL', KEYS[windows + 2]) end
return 1
"""


class _Part:
    """The keys and arguments of the windows that live on one shard."""

    def __init__(
        self, marker: str, windows: list[tuple[str, Limit]], slow_key: str, slow_ms: int
    ) -> None:
        longest = max([seconds * 1000 for _, (_, seconds) in windows] + [slow_ms])
        self.keys = [marker, *(key for key, _ in windows)] + ([slow_key] if slow_ms else [])
        self.args = [len(windows), slow_ms, longest]
        for _, (count, seconds) in windows:
            self.args += [count, seconds * 1000]


class RedisRateLimiter:
    """Both windows in one script when the user's and the stream's shards are the same
    server; otherwise the stream's part, then the user's, taking the first back when the
    second refuses (a script touches one shard's keys only)."""

    def __init__(self, global_limit: Limit, stream_limit: Limit) -> None:
        self.global_limit = global_limit
        self.stream_limit = stream_limit

    async def check_and_count(
        self, user_id: int, stream_id: int, slow_mode_seconds: int, idempotency_key: str
    ) -> int:
        global_key, stream_key, slow_key, counted_key = _keys(user_id, stream_id, idempotency_key)
        slow_ms = slow_mode_seconds * 1000
        user_shard, stream_shard = shard_of_user(user_id), shard_of_stream(stream_id)
        if user_shard == stream_shard:
            windows = [(global_key, self.global_limit), (stream_key, self.stream_limit)]
            whole = _Part(counted_key, windows, slow_key, slow_ms)
            return _seconds(await self._run(_CHECK_AND_COUNT, user_shard, whole))
        stream_part = _Part(
            f"rl:counted:{stream_id}:{user_id}:{idempotency_key}",
            [(stream_key, self.stream_limit)],
            slow_key,
            slow_ms,
        )
        user_part = _Part(counted_key, [(global_key, self.global_limit)], slow_key, 0)
        stream_wait = await self._run(_CHECK_AND_COUNT, stream_shard, stream_part)
        if stream_wait > 0:
            return _seconds(stream_wait)
        user_wait = await self._run(_CHECK_AND_COUNT, user_shard, user_part)
        if user_wait > 0 and stream_wait == 0:
            await self._run(_UNCOUNT, stream_shard, stream_part)
        return _seconds(user_wait)

    @staticmethod
    async def _run(script: str, shard: int, part: _Part) -> int:
        redis = client(shard)
        return int(await redis.register_script(script)(keys=part.keys, args=part.args))


def _seconds(wait_ms: int) -> int:
    return math.ceil(max(wait_ms, 0) / 1000)


class MemoryRateLimiter:
    def __init__(self, global_limit: Limit, stream_limit: Limit, clock=time.monotonic) -> None:
        self.global_limit = global_limit
        self.stream_limit = stream_limit
        self._clock = clock
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (count, expires at)

    def _live(self, key: str, now: float) -> tuple[int, float]:
        count, expires_at = self._windows.get(key, (0, 0.0))
        if expires_at <= now:
            self._windows.pop(key, None)
            return 0, 0.0
        return count, expires_at

    async def check_and_count(
        self, user_id: int, stream_id: int, slow_mode_seconds: int, idempotency_key: str
    ) -> int:
        now = self._clock()
        global_key, stream_key, slow_key, counted_key = _keys(user_id, stream_id, idempotency_key)
        if self._live(counted_key, now)[0]:
            return 0
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
            return math.ceil(wait)
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
        return 0
