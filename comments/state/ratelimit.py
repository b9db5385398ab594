"""Admitting a post: its idempotency key, then the rate limits (SPEC §3).

`admit` first looks for the comment the user's key stored before (a retry after a lost
ack gets that comment, counting nothing); then it either counts the post against every
limit (fixed windows per the seed, plus a stream's slow mode) or, when any limit is full,
counts nothing and says how many seconds to wait. A post's key counts once: a retry of a
key already counted (its first gateway died before answering) passes without counting
again. On Redis that is one script on the user's shard; the writer admits a flush's posts
together (`admit_many`), one round trip a flush rather than one a post.
"""

import asyncio
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from livecomments.redis_topology import client, shard_of_stream, shard_of_user

from .idempotency import IdempotencyStore, remembered_key
from .redis_client import run_script

Limit = tuple[int, int]  # (comments, seconds)


@dataclass(frozen=True)
class Admission:
    wait_seconds: int = 0  # > 0: refused for now, nothing counted
    stored_comment_id: int | None = None  # the key stored this comment before: nothing counted


ADMITTED = Admission()


class Ask(NamedTuple):
    """One post to admit."""

    user_id: int
    stream_id: int
    slow_mode_seconds: int  # 0: no slow mode for this post (none set, or its author is staff)
    idempotency_key: str


class RateLimiter(Protocol):
    async def admit_many(self, asks: list[Ask]) -> list[Admission]:
        """Admit each post in turn, as `admit` would one after another: a flush's posts at once."""
        ...

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


# Counts each of ARGV[1] posts against the windows of one shard, or, when any of its windows
# is full, counts nothing of that post; in order, so a post sees the counts of those before
# it. Per post, its KEYS: where its key's comment is remembered (looked at only when its
# look flag is 1), the key's "counted" marker, then one key per window, then the slow-mode
# marker (only when its slow-mode ms > 0). Its ARGV: window count, slow-mode ms, the
# marker's lifetime (ms), the look flag, then a limit and a length (ms) per window. Answers,
# per post: the remembered comment id (a string), or the ms to wait, 0 when counted now,
# -1 when this key was counted before.
_ADMIT = """
local function admit(k, a)
  if ARGV[a + 4] == '1' then
    local stored = redis.call('GET', KEYS[k + 1])
    if stored then return stored end
  end
  if redis.call('EXISTS', KEYS[k + 2]) == 1 then return -1 end
  local windows = tonumber(ARGV[a + 1])
  local slow_ms = tonumber(ARGV[a + 2])
  local wait = 0
  for i = 1, windows do
    local count = tonumber(redis.call('GET', KEYS[k + i + 2]) or '0')
    if count >= tonumber(ARGV[a + 3 + 2 * i]) then
      local ttl = redis.call('PTTL', KEYS[k + i + 2])
      if ttl < 0 then ttl = 1000 end
      if ttl > wait then wait = ttl end
    end
  end
  if slow_ms > 0 then
    local ttl = redis.call('PTTL', KEYS[k + windows + 3])
    if ttl > wait then wait = ttl end
  end
  if wait > 0 then return wait end
  for i = 1, windows do
    if redis.call('INCR', KEYS[k + i + 2]) == 1 then
      redis.call('PEXPIRE', KEYS[k + i + 2], ARGV[a + 4 + 2 * i])
    end
  end
  if slow_ms > 0 then redis.call('SET', KEYS[k + windows + 3], '1', 'PX', slow_ms) end
  redis.call('SET', KEYS[k + 2], '1', 'PX', ARGV[a + 3])
  return 0
end
local answers = {}
local k, a = 0, 1
for post = 1, tonumber(ARGV[1]) do
  answers[post] = admit(k, a)
  local windows = tonumber(ARGV[a + 1])
  k = k + 2 + windows + (tonumber(ARGV[a + 2]) > 0 and 1 or 0)
  a = a + 4 + 2 * windows
end
return answers
"""

# Takes back a count of one post of _ADMIT (its KEYS and ARGV) that another shard refused.
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
    """The keys and arguments of one post's windows that live on one shard."""

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


Answer = int | bytes | str  # one post's answer of _ADMIT


class RedisRateLimiter:
    """Each post's key and both windows in one script when the user's and the stream's
    shards are the same server; otherwise the user's part (the key, the user's window), then
    the stream's, taking the first back when the second refuses (a script touches one
    shard's keys only). A flush's posts go together: one script a shard, not one a post.
    Across shards, a post the stream's shard refuses holds its count on the user's until
    the flush's stream parts are answered: a later post of that user in the same flush may
    be refused for it, as it might have been in flight beside it (never the other way)."""

    def __init__(self, global_limit: Limit, stream_limit: Limit) -> None:
        self.global_limit = global_limit
        self.stream_limit = stream_limit

    async def admit(
        self, user_id: int, stream_id: int, slow_mode_seconds: int, idempotency_key: str
    ) -> Admission:
        return (
            await self.admit_many([Ask(user_id, stream_id, slow_mode_seconds, idempotency_key)])
        )[0]

    async def admit_many(self, asks: list[Ask]) -> list[Admission]:
        whole: dict[int, tuple[int, _Part]] = {}
        user_parts: dict[int, tuple[int, _Part]] = {}
        stream_parts: dict[int, tuple[int, _Part]] = {}
        for index, ask in enumerate(asks):
            user_id, stream_id, slow_mode_seconds, idempotency_key = ask
            global_key, stream_key, slow_key, counted_key = _keys(
                user_id, stream_id, idempotency_key
            )
            remembered = remembered_key(user_id, idempotency_key)
            slow_ms = slow_mode_seconds * 1000
            user_shard, stream_shard = shard_of_user(user_id), shard_of_stream(stream_id)
            if user_shard == stream_shard:
                windows = [(global_key, self.global_limit), (stream_key, self.stream_limit)]
                part = _Part(remembered, counted_key, windows, slow_key, slow_ms)
                whole[index] = (user_shard, part)
                continue
            user_windows = [(global_key, self.global_limit)]
            user_parts[index] = (
                user_shard,
                _Part(remembered, counted_key, user_windows, slow_key, 0),
            )
            stream_parts[index] = (
                stream_shard,
                _Part(
                    None,
                    f"rl:counted:{stream_id}:{user_id}:{idempotency_key}",
                    [(stream_key, self.stream_limit)],
                    slow_key,
                    slow_ms,
                ),
            )
        answers = await self._admit_parts({**whole, **user_parts})
        admissions = {index: _admission(answer) for index, answer in answers.items()}
        # The stream's part only for posts their user's part admitted.
        stream_answers = await self._admit_parts(
            {i: part for i, part in stream_parts.items() if admissions[i] == ADMITTED}
        )
        for index, answer in stream_answers.items():
            admissions[index] = _admission(answer)
            # Taken back only if counted now (0), not if counted by an earlier try (-1).
            if admissions[index].wait_seconds and answers[index] == 0:
                shard, part = user_parts[index]
                await run_script(client(shard), _UNCOUNT, part.keys, part.args)
        return [admissions[index] for index in range(len(asks))]

    async def _admit_parts(self, parts: dict[int, tuple[int, _Part]]) -> dict[int, Answer]:
        """Run _ADMIT once per shard for these posts' parts; each post's answer."""
        by_shard: dict[int, list[tuple[int, _Part]]] = defaultdict(list)
        for index, (shard, part) in parts.items():
            by_shard[shard].append((index, part))

        async def on(shard: int, found: list[tuple[int, _Part]]) -> list[Answer]:
            keys = [key for _, part in found for key in part.keys]
            args = [len(found), *(arg for _, part in found for arg in part.args)]
            return await run_script(client(shard), _ADMIT, keys, args)

        replies = await asyncio.gather(*(on(shard, found) for shard, found in by_shard.items()))
        return {
            index: answer
            for found, answered in zip(by_shard.values(), replies, strict=True)
            for (index, _), answer in zip(found, answered, strict=True)
        }


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

    async def admit_many(self, asks: list[Ask]) -> list[Admission]:
        return [await self.admit(*ask) for ask in asks]

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
