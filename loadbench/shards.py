"""The Redis servers of a run's gateways: which one holds each stream, and what each did.

With several servers in REDIS_URL a stream's traffic and state live on one of them
(livecomments.redis_topology); the run reports which, and the commands each server
executed while the posters posted, read from `INFO commandstats` before and after.
Those counts are server-wide: on a Redis other clients use, theirs count too.
"""

import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import redis

from livecomments.events import stream_group
from livecomments.redis_topology import group_shards, sync_pool
from livecomments.redis_url import RedisServer, parse_redis_url

T = TypeVar("T")

# The commands of each server kept in the JSON figures, the busiest first.
TOP_COMMANDS = 12


def label(server: RedisServer) -> str:
    """host:port/db of a server, without its password; or the Sentinel master's name."""
    if server.url is None:
        return f"sentinel master {server.master}/{server.db}"
    parts = urlsplit(server.url)
    return parts.netloc.rpartition("@")[2] + parts.path


def command_calls(redis_url: str) -> list[Counter[str]]:
    """Calls of each command so far, per server of `redis_url`, in its order."""
    return _read_each(
        redis_url,
        lambda client: Counter(
            {
                name.removeprefix("cmdstat_"): row["calls"]
                for name, row in client.info("commandstats").items()
            }
        ),
    )


def _read_each(redis_url: str, read: Callable[[redis.Redis], T]) -> list[T]:
    found = []
    for server in parse_redis_url(redis_url):
        client = redis.Redis(connection_pool=sync_pool(server, socket_timeout=5))
        try:
            found.append(read(client))
        finally:
            client.close()
    return found


class RedisWatch:
    """The servers of one run: where its streams live, and the commands each executed
    between `start` (posting begins) and `finish` (the drain ends)."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.servers = parse_redis_url(redis_url)
        self._shard_of_group = group_shards(self.servers)
        self.before: list[Counter[str]] = []
        self.started = 0.0

    def shard_of_stream(self, stream_id: int) -> int:
        return self._shard_of_group(stream_group(stream_id))

    def start(self) -> None:
        self.before = command_calls(self.redis_url)
        self.started = time.monotonic()

    def finish(self) -> list[dict]:
        """Each server's figures since `start`."""
        seconds = time.monotonic() - self.started
        after = command_calls(self.redis_url)
        keys = _read_each(self.redis_url, lambda client: client.dbsize())
        found = []
        for index, server in enumerate(self.servers):
            executed = after[index] - self.before[index]
            total = sum(executed.values())
            found.append(
                {
                    "shard": index,
                    "server": label(server),
                    "commands": total,
                    "commands_per_s": round(total / seconds, 1),
                    "keys": keys[index],
                    "top_commands": dict(executed.most_common(TOP_COMMANDS)),
                }
            )
        return found
