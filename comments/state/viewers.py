"""Viewer counts across gateways: each gateway reports its own sockets per stream.

A gateway heartbeats while it lives; totals only add up the counts of gateways heard
from within GATEWAY_TIMEOUT_MS, so a killed gateway stops counting by itself.
"""

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from livecomments.redis_topology import shard_of_stream

from .redis_client import client, every_shard, on_each_shard

GATEWAY_TIMEOUT_MS = 15_000
_GATEWAYS = "viewers:gateways"
KEY_TTL_SECONDS = 24 * 3600


def _stream_key(stream_id: int) -> str:
    return f"viewers:stream:{stream_id}"


class ViewerRegistry(Protocol):
    async def report(self, gateway_id: str, local_counts: dict[int, int]) -> None:
        """Record this gateway's sockets per stream (0 removes the stream) and heartbeat."""
        ...

    async def totals(self, stream_ids: list[int]) -> dict[int, int]: ...


class RedisViewerRegistry:
    # Each shard keeps the heartbeats of the gateways beside the counts of its own streams,
    # so that a stream's total is read from its shard alone. A lost shard is left out
    # (on_each_shard): its streams' viewers keep the last count they got, and a full report
    # puts its counts back once it returns.
    def __init__(self, gateway_timeout_ms: int = GATEWAY_TIMEOUT_MS) -> None:
        self.gateway_timeout_ms = gateway_timeout_ms

    async def report(self, gateway_id: str, local_counts: dict[int, int]) -> None:
        now_ms = int(time.time() * 1000)
        by_shard: dict[int, list[tuple[int, int]]] = {shard: [] for shard in every_shard()}
        for stream_id, count in local_counts.items():
            by_shard[shard_of_stream(stream_id)].append((stream_id, count))

        def report_to(shard: int, counts: list[tuple[int, int]]) -> Callable[[], Awaitable[None]]:
            async def report() -> None:
                async with client(shard).pipeline(transaction=False) as pipe:
                    pipe.zadd(_GATEWAYS, {gateway_id: now_ms})
                    pipe.zremrangebyscore(_GATEWAYS, 0, now_ms - KEY_TTL_SECONDS * 1000)
                    pipe.expire(_GATEWAYS, KEY_TTL_SECONDS)
                    for stream_id, count in counts:
                        key = _stream_key(stream_id)
                        if count > 0:
                            pipe.hset(key, gateway_id, count)
                            pipe.expire(key, KEY_TTL_SECONDS)
                        else:
                            pipe.hdel(key, gateway_id)
                    await pipe.execute()

            return report

        work = {shard: report_to(shard, counts) for shard, counts in by_shard.items()}
        await on_each_shard(work, "reporting viewers")

    async def totals(self, stream_ids: list[int]) -> dict[int, int]:
        by_shard: dict[int, list[int]] = defaultdict(list)
        for stream_id in stream_ids:
            by_shard[shard_of_stream(stream_id)].append(stream_id)
        work = {shard: partial(self._totals_on, shard, found) for shard, found in by_shard.items()}
        return {
            stream_id: total
            for found in (await on_each_shard(work, "reading viewer counts")).values()
            for stream_id, total in found.items()
        }

    async def _totals_on(self, shard: int, stream_ids: list[int]) -> dict[int, int]:
        now_ms = int(time.time() * 1000)
        async with client(shard).pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(_GATEWAYS, now_ms - self.gateway_timeout_ms, "+inf")
            for stream_id in stream_ids:
                pipe.hgetall(_stream_key(stream_id))
            alive_raw, *per_stream = await pipe.execute()
        alive = set(alive_raw)
        return {
            stream_id: sum(int(count) for gateway, count in counts.items() if gateway in alive)
            for stream_id, counts in zip(stream_ids, per_stream, strict=True)
        }


class MemoryViewerRegistry:
    def __init__(self) -> None:
        self._counts: dict[int, int] = {}

    async def report(self, gateway_id: str, local_counts: dict[int, int]) -> None:
        for stream_id, count in local_counts.items():
            if count > 0:
                self._counts[stream_id] = count
            else:
                self._counts.pop(stream_id, None)

    async def totals(self, stream_ids: list[int]) -> dict[int, int]:
        return {stream_id: self._counts.get(stream_id, 0) for stream_id in stream_ids}
