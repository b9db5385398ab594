"""Shared live state behind small backends: Redis when REDIS_URL is set, memory otherwise.

Rate limits, idempotency keys, viewer counts and the recent-comments cache each have one
interface here and two implementations; the embedded default (one process) uses memory.
"""

from functools import cache

from django.conf import settings

from .idempotency import IdempotencyStore, MemoryIdempotencyStore, RedisIdempotencyStore
from .ratelimit import Limit, MemoryRateLimiter, RateLimiter, RedisRateLimiter
from .recent import MemoryRecentComments, RecentComments, RedisRecentComments
from .viewers import MemoryViewerRegistry, RedisViewerRegistry, ViewerRegistry


def _use_redis() -> bool:
    return bool(settings.REDIS_URL)


@cache
def rate_limiter() -> RateLimiter:
    limits = settings.LIVE_COMMENTS
    global_limit: Limit = limits["RATE_LIMIT_GLOBAL"]
    stream_limit: Limit = limits["RATE_LIMIT_STREAM"]
    backend = RedisRateLimiter if _use_redis() else MemoryRateLimiter
    return backend(global_limit, stream_limit)


@cache
def idempotency_store() -> IdempotencyStore:
    return RedisIdempotencyStore() if _use_redis() else MemoryIdempotencyStore()


@cache
def viewer_registry() -> ViewerRegistry:
    return RedisViewerRegistry() if _use_redis() else MemoryViewerRegistry()


@cache
def recent_comments() -> RecentComments:
    return RedisRecentComments() if _use_redis() else MemoryRecentComments()


def reset_for_tests() -> None:
    """Forget every backend instance, so that settings changed by a test take effect."""
    for factory in (rate_limiter, idempotency_store, viewer_registry, recent_comments):
        factory.cache_clear()
