"""This event loop's client of the Redis shard that holds each kind of state.

Which shard that is, and why, is livecomments.redis_topology's to say: a stream's state
on its stream's shard, a user's cross-stream state on the user's, the rest on the first.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import redis.asyncio as redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from livecomments.redis_topology import client, servers, shard_of_stream, shard_of_user

logger = logging.getLogger(__name__)
T = TypeVar("T")


def stream_client(stream_id: int) -> redis.Redis:
    return client(shard_of_stream(stream_id))


def user_client(user_id: int) -> redis.Redis:
    return client(shard_of_user(user_id))


def every_shard() -> range:
    """Every shard's index, for state each shard keeps of its own (heartbeats, sweeps)."""
    return range(len(servers()))


__all__ = ["client", "every_shard", "on_each_shard", "run_script", "stream_client", "user_client"]

# By source: a script's hash is computed once, whichever client (loop, shard) runs it.
_scripts: dict[str, AsyncScript] = {}


async def run_script(
    on: redis.Redis, source: str, keys: Sequence[Any] = (), args: Sequence[Any] = ()
) -> Any:
    """Run a Lua script on a shard: one command, one round trip, atomic.

    Cheaper than a pipeline of the same commands: redis-py spends about as much CPU on a
    pipeline of three commands as on two commands sent one by one, and more with MULTI.
    """
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = on.register_script(source)
    return await script(keys=keys, args=args, client=on)


async def on_each_shard(work: Mapping[int, Callable[[], Awaitable[T]]], what: str) -> dict[int, T]:
    """Run each shard's part; a lost shard is logged and left out unless every one is lost.

    One shard down must not hold up the streams of the others (SPEC §2).
    """
    done: dict[int, T] = {}
    failed = []
    for shard, part in work.items():
        try:
            done[shard] = await part()
        except RedisError:
            failed.append(shard)
    if failed and not done:
        raise RedisError(f"{what} failed on Redis shards {failed}")
    if failed:
        logger.warning("%s failed on Redis shards %s", what, failed)
    return done
