"""One asyncio Redis client per event loop (redis.asyncio clients are bound to their loop)."""

import asyncio
import weakref

import redis.asyncio as redis
from django.conf import settings

MAX_CONNECTIONS = 50
POOL_WAIT_SECONDS = 5

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.Redis]" = (
    weakref.WeakKeyDictionary()
)


def client() -> redis.Redis:
    loop = asyncio.get_running_loop()
    found = _clients.get(loop)
    if found is None:
        # A join storm asks for more connections at once than Redis needs: callers wait for
        # one of a bounded set (redis-py's default pool refuses the 101st instead).
        pool = redis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=MAX_CONNECTIONS,
            timeout=POOL_WAIT_SECONDS,
            # Fail fast during an outage instead of hanging a post.
            socket_connect_timeout=2,
            socket_timeout=5,
            retry_on_timeout=False,
            health_check_interval=15,
        )
        found = redis.Redis(connection_pool=pool)
        _clients[loop] = found
    return found
