"""REDIS_URL read into the servers it names (SPEC §2): one, several shards, or Sentinel.

- `redis://host:port/db` (or `rediss://`, `unix://`): one server.
- several of those, comma-separated: shards; each stream lives on one (livecomments.redis_topology).
- `redis+sentinel://host:port[,host:port…]/MASTER[/db]`: the primary that these Sentinels
  name, followed through a failover. Sentinel URLs may be shards too, one per master.

This module only parses: settings imports it before Django is set up, so it imports
nothing from Django but the error class.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

SENTINEL_SCHEME = "redis+sentinel://"
PLAIN_SCHEMES = ("redis://", "rediss://", "unix://")
DEFAULT_SENTINEL_PORT = 26379
# How long asking a Sentinel may take: a dead one must not hold up finding the primary.
SENTINEL_KWARGS = {"socket_connect_timeout": 1, "socket_timeout": 1}

# Shards are split only where a new URL starts: a Sentinel URL has commas of its own.
_NEXT_URL = re.compile(r",\s*(?=(?:redis\+sentinel|rediss?|unix)://)")


@dataclass(frozen=True)
class RedisServer:
    """One shard: a plain server (`url`) or the primary named `master` by `sentinels`."""

    url: str | None = None
    master: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    db: int = 0

    @property
    def is_sentinel(self) -> bool:
        return self.master is not None

    def __str__(self) -> str:
        if self.url is not None:
            return self.url
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"{SENTINEL_SCHEME}{hosts}/{self.master}/{self.db}"


def parse_redis_url(value: str) -> tuple[RedisServer, ...]:
    """The servers REDIS_URL names, first first (site-wide state lives there); () if unset."""
    value = value.strip()
    if not value:
        return ()
    servers = tuple(_parse_one(part.strip(), value) for part in _NEXT_URL.split(value))
    if len(set(servers)) != len(servers):
        raise ImproperlyConfigured(f"REDIS_URL names the same server twice: {value!r}")
    return servers


def _parse_one(part: str, whole: str) -> RedisServer:
    if part.startswith(SENTINEL_SCHEME):
        return _parse_sentinel(part)
    if not part.startswith(PLAIN_SCHEMES):
        raise ImproperlyConfigured(
            "REDIS_URL must be redis://host:port/db, several of those separated by commas, "
            f"or {SENTINEL_SCHEME}host:port[,host:port…]/MASTER[/db]; got {whole!r}"
        )
    if "," in part:
        raise ImproperlyConfigured(
            f"REDIS_URL: each shard must be a whole redis:// URL, got {part!r} in {whole!r}"
        )
    try:
        parsed = urlsplit(part)
        parsed.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError as error:
        raise ImproperlyConfigured(f"REDIS_URL has a bad server {part!r}: {error}") from None
    if not parsed.scheme.startswith("unix") and not parsed.hostname:
        raise ImproperlyConfigured(f"REDIS_URL has a server without a host: {part!r}")
    return RedisServer(url=part)


def _parse_sentinel(part: str) -> RedisServer:
    rest = part.removeprefix(SENTINEL_SCHEME)
    hosts, _, path = rest.partition("/")
    names = [name for name in path.split("/") if name]
    if not hosts or not 1 <= len(names) <= 2:
        raise ImproperlyConfigured(
            f"REDIS_URL {part!r}: Sentinel needs {SENTINEL_SCHEME}host:port[,host:port…]"
            "/MASTER[/db]"
        )
    master = names[0]
    try:
        db = int(names[1]) if len(names) == 2 else 0
    except ValueError:
        raise ImproperlyConfigured(f"REDIS_URL {part!r}: the db must be a number") from None
    sentinels = []
    for host_port in hosts.split(","):
        host, colon, port = host_port.strip().rpartition(":")
        if not colon:
            host, port = port, ""
        try:
            sentinels.append((host, int(port) if port else DEFAULT_SENTINEL_PORT))
        except ValueError:
            raise ImproperlyConfigured(
                f"REDIS_URL {part!r}: bad Sentinel address {host_port!r}"
            ) from None
        if not host:
            raise ImproperlyConfigured(f"REDIS_URL {part!r}: a Sentinel address has no host")
    return RedisServer(master=master, sentinels=tuple(sentinels), db=db)


def channel_layer_hosts(servers: tuple[RedisServer, ...]) -> list[dict]:
    """channels-redis `hosts`, one per shard, in REDIS_URL's order (it shards by position).

    socket_timeout=None: redis-py 8 otherwise times out idle pub/sub reads after 5 s
    (django/channels_redis#422).
    """
    hosts: list[dict] = []
    for server in servers:
        if server.url is not None:
            hosts.append({"address": server.url, "socket_timeout": None})
        else:
            # channels_redis.utils.create_pool makes a SentinelConnectionPool of these.
            hosts.append(
                {
                    "master_name": server.master,
                    "sentinels": list(server.sentinels),
                    "sentinel_kwargs": SENTINEL_KWARGS,
                    "db": server.db,
                    "socket_timeout": None,
                }
            )
    return hosts
