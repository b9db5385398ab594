"""Shared live state behind small backends: Redis when REDIS_URL is set, memory otherwise.

Rate limits, idempotency keys, viewer counts and the recent-comments cache each have one
interface here and two implementations; the embedded default (one process) uses memory.
"""

import logging
from collections.abc import Callable, Sequence
from functools import cache
from typing import TypeVar

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import transaction

from livecomments import redis_topology
from livecomments.events import publish_on_commit, stream_group
from livecomments.redis_cache import user_tagged

from .idempotency import IdempotencyStore, MemoryIdempotencyStore, RedisIdempotencyStore
from .ratelimit import Limit, MemoryRateLimiter, RateLimiter, RedisRateLimiter
from .recent import MemoryRecentComments, RecentComments, RedisRecentComments
from .revision import bump_replay_revision
from .viewers import MemoryViewerRegistry, RedisViewerRegistry, ViewerRegistry

logger = logging.getLogger(__name__)


def _use_redis() -> bool:
    return bool(settings.REDIS_URL)


@cache
def rate_limiter() -> RateLimiter:
    limits = settings.LIVE_COMMENTS
    global_limit: Limit = limits["RATE_LIMIT_GLOBAL"]
    stream_limit: Limit = limits["RATE_LIMIT_STREAM"]
    if _use_redis():
        return RedisRateLimiter(global_limit, stream_limit)
    return MemoryRateLimiter(global_limit, stream_limit, idempotency_store())


@cache
def idempotency_store() -> IdempotencyStore:
    return RedisIdempotencyStore() if _use_redis() else MemoryIdempotencyStore()


@cache
def viewer_registry() -> ViewerRegistry:
    return RedisViewerRegistry() if _use_redis() else MemoryViewerRegistry()


@cache
def recent_comments() -> RecentComments:
    return RedisRecentComments() if _use_redis() else MemoryRecentComments()


def invalidate_recent_on_commit(
    stream_id: int, hidden_ids: Sequence[int] = (), shown_ids: Sequence[int] = ()
) -> None:
    """Drop the stream's recent-comments cache once committed, before the frames go out.

    A cache of one process's own (the embedded default) is dropped by the serving
    process when the message reaches it: this may be a command in another process.
    """

    def invalidate() -> None:
        # Comments shown or hidden change the replay too (a hide a day after the end).
        bump_replay_revision([stream_id])
        try:
            async_to_sync(recent_comments().invalidate)(
                stream_id, hidden_ids=list(hidden_ids), shown_ids=list(shown_ids)
            )
        except Exception:
            # The cache expires by itself; the viewers must still be told.
            logger.exception("invalidating recent comments of stream %s failed", stream_id)

    transaction.on_commit(invalidate)
    publish_on_commit(
        stream_group(stream_id),
        {
            "type": "stream.recent_invalidated",
            "hiddenIds": list(hidden_ids),
            "shownIds": list(shown_ids),
        },
    )


# Answers kept per key: a retry after a lost ack gets the first answer, for a day.
ANSWER_KEPT_SECONDS = 24 * 3600
T = TypeVar("T")


def answer_once(kind: str, user_id: int, key: str, act: Callable[[], T]) -> T:
    """Run `act` once per user and key: a retry after a lost ack gets the first answer."""
    # On the user's shard, with the rest of their state (livecomments.redis_cache).
    memo = user_tagged(user_id, f"{kind}:{key}")
    answered = django_cache.get(memo)
    if answered is not None:
        return answered["result"]
    result = act()
    django_cache.set(memo, {"result": result}, ANSWER_KEPT_SECONDS)
    return result


def reset_for_tests() -> None:
    """Forget every backend instance, so that settings changed by a test take effect."""
    for factory in (rate_limiter, idempotency_store, viewer_registry, recent_comments):
        factory.cache_clear()
    redis_topology.reset()
