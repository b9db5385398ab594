"""Which Redis server holds what, and connections to it (SPEC §2: shards and Sentinel).

With several servers in REDIS_URL, a stream's state lives on the shard that carries its
group on the channel layer, so one stream's traffic and state are on one server and a
lost server takes only its own streams down. Per-user state that spans streams (the
global rate limit, idempotency) lives on the shard of the user's group; site-wide state
on the first server. A Lua script only ever touches keys of one of these.

channels-redis (pub/sub layer) picks a group's shard with its own hash of its own name
for the group. We ask the layer itself rather than copy its formula: that reaches under
its public API, so it is used only for the channels-redis versions whose mapping the
test suite checks against real servers (tests/livecomments/test_redis_shards.py);
under any other version a stream's state goes by a plain hash of its group name, which
is still one shard per stream, only not necessarily the shard of its pub/sub traffic.

Behind Sentinel every connection asks the Sentinels for the primary when it (re)connects,
so a failover is followed by the next connection attempt.
"""

import asyncio
import logging
import weakref
import zlib
from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as aiosentinel
import redis.sentinel
from channels_redis.pubsub import RedisPubSubLoopLayer
from django.conf import settings

from .events import stream_group, user_group
from .redis_url import SENTINEL_KWARGS, RedisServer, channel_layer_hosts, parse_redis_url

logger = logging.getLogger(__name__)

# channels-redis versions whose stream → shard mapping the tests have checked; pinned in
# pyproject.toml. Add a version here only once the shard tests pass against it.
CHANNELS_REDIS_ALIGNED = ("4.3.0",)

SITE_SHARD = 0

MAX_CONNECTIONS = 50
POOL_WAIT_SECONDS = 5
# Fail fast during an outage instead of hanging a post.
CONNECTION_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "retry_on_timeout": False,
    "health_check_interval": 15,
}


@cache
def servers() -> tuple[RedisServer, ...]:
    """The servers of settings.REDIS_URL, the site-wide one first."""
    return parse_redis_url(settings.REDIS_URL)


def shard_of_group(group: str) -> int:
    """The shard that carries a channel-layer group (a stream's, a user's)."""
    return _group_shard()(group)


def shard_of_stream(stream_id: int) -> int:
    """The shard holding the stream's state: the one carrying its channel-layer group."""
    return shard_of_group(stream_group(stream_id))


def shard_of_user(user_id: int) -> int:
    """The shard holding a user's state across streams: the one carrying their user group."""
    return shard_of_group(user_group(user_id))


@cache
def _group_shard() -> Callable[[str], int]:
    return group_shards(servers())


def group_shards(named: tuple[RedisServer, ...]) -> Callable[[str], int]:
    """How groups map to `named`'s shards: what gateways given these servers do."""
    count = len(named)
    if count <= 1:
        return lambda group: 0
    try:
        return _channels_redis_shard(named)
    except (LookupError, AttributeError, TypeError, ValueError) as error:
        logger.warning(
            "Redis shards: streams' state is not aligned with channels-redis's groups (%s); "
            "each stream still lives on one shard",
            error,
        )
        return lambda group: zlib.crc32(group.encode()) % count


def _channels_redis_shard(named: tuple[RedisServer, ...]) -> Callable[[str], int]:
    """channels-redis's own shard of a group, for a version whose mapping is tested."""
    try:
        installed = version("channels-redis")
    except PackageNotFoundError as error:
        raise LookupError("channels-redis is not installed") from error
    if installed not in CHANNELS_REDIS_ALIGNED:
        raise LookupError(f"channels-redis {installed} is not one of {CHANNELS_REDIS_ALIGNED}")
    # Made as settings make the gateways' layer (default prefix), never connected: its
    # shards open connections on first use only.
    layer = RedisPubSubLoopLayer(hosts=channel_layer_hosts(named))
    shards = layer._shards

    def shard_of(group: str) -> int:
        return shards.index(layer._get_shard(layer._get_group_channel_name(group)))

    shard_of(stream_group(1))  # fails here, not on a post, if the internals moved
    return shard_of


# --- connections -------------------------------------------------------------------------


class _BlockingSentinelConnectionPool(
    aiosentinel.SentinelConnectionPool, aioredis.BlockingConnectionPool
):
    """A Sentinel-managed pool whose callers wait for a free connection, as with one server."""


def _async_client(server: RedisServer) -> aioredis.Redis:
    # A join storm asks for more connections at once than Redis needs: callers wait for one
    # of a bounded set (redis-py's default pool refuses the 101st instead).
    pool: aioredis.ConnectionPool
    if server.url is not None:
        pool = aioredis.BlockingConnectionPool.from_url(
            server.url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS,
            **CONNECTION_OPTIONS,
        )  # fmt: skip
    else:
        sentinel = aiosentinel.Sentinel(list(server.sentinels), sentinel_kwargs=SENTINEL_KWARGS)
        pool = _BlockingSentinelConnectionPool(
            server.master, sentinel, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS,
            db=server.db, **CONNECTION_OPTIONS,
        )  # fmt: skip
    return aioredis.Redis(connection_pool=pool)


# redis.asyncio clients are bound to their event loop: one set per loop.
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, aioredis.Redis]]" = (
    weakref.WeakKeyDictionary()
)


def client(shard: int = SITE_SHARD) -> aioredis.Redis:
    """This event loop's client of one shard."""
    per_shard = _clients.setdefault(asyncio.get_running_loop(), {})
    found = per_shard.get(shard)
    if found is None:
        found = per_shard[shard] = _async_client(servers()[shard])
    return found


def sync_pool(server: RedisServer, **options) -> redis.ConnectionPool:
    """A blocking-code connection pool of one shard (the Django cache, health checks)."""
    if server.url is not None:
        return redis.ConnectionPool.from_url(server.url, **options)
    sentinel = redis.sentinel.Sentinel(list(server.sentinels), sentinel_kwargs=SENTINEL_KWARGS)
    return redis.sentinel.SentinelConnectionPool(server.master, sentinel, db=server.db, **options)


def reset() -> None:
    """Forget the servers and clients, so that a changed REDIS_URL takes effect (tests)."""
    servers.cache_clear()
    _group_shard.cache_clear()
    _clients.clear()
