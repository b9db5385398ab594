"""Comment rate limits (SPEC §3): fixed windows per the seed, plus a stream's slow mode.

`check_and_count` either counts the post against every limit or, when any limit is
full, counts nothing and says how many seconds to wait. A post's idempotency key counts
once: a retry of a key already counted (its first gateway died before answering) passes
without counting again (SPEC §3).
"""

import math
import time
from typing import Protocol

from .redis_client import client

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


# KEYS: global window, stream window, slow-mode marker, this key's "counted" marker.
# ARGV: global limit, global window ms, stream limit, stream window ms, slow-mode ms.
_CHECK_AND_COUNT = """
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
local wait = 0
local function window_wait(key, limit)
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= limit then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = 1000 end
    if ttl > wait then wait = ttl end
  end
end
window_wait(KEYS[1], tonumber(ARGV[1]))
window_wait(KEYS[2], tonumber(ARGV[3]))
local slow_ms = tonumber(ARGV[5])
if slow_ms > 0 then
  local ttl = redis.call('PTTL', KEYS[3])
  if ttl > wait then wait = ttl end
end
if wait > 0 then return wait end
for i, window in ipairs({ARGV[2], ARGV[4]}) do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], window) end
end
if slow_ms > 0 then redis.call('SET', KEYS[3], '1', 'PX', slow_ms) end
-- Marked as long as the key could count against a window.
local longest = math.max(tonumber(ARGV[2]), tonumber(ARGV[4]), slow_ms)
redis.call('SET', KEYS[4], '1', 'PX', longest)
return 0
"""


class RedisRateLimiter:
    def __init__(self, global_limit: Limit, stream_limit: Limit) -> None:
        self.global_limit = global_limit
        self.stream_limit = stream_limit

    async def check_and_count(
        self, user_id: int, stream_id: int, slow_mode_seconds: int, idempotency_key: str
    ) -> int:
        redis = client()
        script = redis.register_script(_CHECK_AND_COUNT)
        wait_ms = await script(
            keys=_keys(user_id, stream_id, idempotency_key),
            args=[
                self.global_limit[0],
                self.global_limit[1] * 1000,
                self.stream_limit[0],
                self.stream_limit[1] * 1000,
                slow_mode_seconds * 1000,
            ],
        )
        return math.ceil(int(wait_ms) / 1000)


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
