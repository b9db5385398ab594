"""Django's cache on our Redis servers: shards and Sentinel (livecomments.redis_topology).

Django's own RedisCache treats several servers as one primary and read replicas, and
cannot follow a Sentinel failover. Here a key carrying a hash tag, `{group}`, goes to
that group's shard (per-user answers, comments.state.answer_once); any other key, and
every many-key operation, to the site-wide first server.
"""

import re

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from . import redis_topology
from .events import user_group

_HASH_TAG = re.compile(r"\{([^{}]+)\}")


def user_tagged(user_id: int, key: str) -> str:
    """A cache key kept on the shard of the user's other state."""
    return f"{{{user_group(user_id)}}}:{key}"


class ShardedRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options) -> None:
        super().__init__(servers, **options)
        # Django's own pools are per URL; ours per shard, with the connection options only.
        self._shard_pools: dict[int, redis.ConnectionPool] = {}
        self._connection_options = {
            name: value
            for name, value in options.items()
            if name not in ("serializer", "pool_class", "parser_class")
        }

    def get_client(self, key=None, *, write=False) -> redis.Redis:
        tag = _HASH_TAG.search(key) if isinstance(key, str) else None
        shard = redis_topology.shard_of_group(tag[1]) if tag else redis_topology.SITE_SHARD
        pool = self._shard_pools.get(shard)
        if pool is None:
            server = redis_topology.servers()[shard]
            pool = redis_topology.sync_pool(server, **self._connection_options)
            self._shard_pools[shard] = pool
        return redis.Redis(connection_pool=pool)


class ShardedRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ShardedRedisCacheClient
