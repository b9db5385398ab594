"""CPU of one round trip to PostgreSQL and to Redis after a quiet spell (docs/performance.md).

A gateway's post path is round trips: to Redis (admission, after the commit) and to
PostgreSQL (the flush, through the database thread). On some virtual machines a round trip
to a peer that has been idle for a few milliseconds costs the caller several times the CPU
of one made back to back, and so does waking at all, so what a post costs depends on the
machine as much as on our code. After each quiet gap this times, process CPU and wall time,
medians:

- a `SELECT 1` through Django's connection, and a Redis `PING` (REDIS_URL's first server),
  from blocking code;
- from an event loop (uvloop, as the gateways run): the same `SELECT 1` through the
  database thread, as the writer's flush goes, and on the loop through psycopg's
  `AsyncConnection` (PostgreSQL only); and a bare wakeup (the loop only sleeps).
"""

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import psycopg
import redis
import uvloop
from channels.db import database_sync_to_async
from django.db import connection

from comments.storing import connect_on_loop
from livecomments.redis_topology import servers, sync_pool

Figures = tuple[float, float]  # median process CPU and wall time, seconds


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _close_connection() -> None:
    connection.close()  # this thread's: `connection` resolves per thread


def _timed(call: Callable[[], None], gap_seconds: float, trips: int) -> Figures:
    cpu, wall = [], []
    for _ in range(trips):
        if gap_seconds:
            time.sleep(gap_seconds)
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        call()
        cpu.append(time.process_time() - cpu_started)
        wall.append(time.perf_counter() - wall_started)
    return statistics.median(cpu), statistics.median(wall)


async def _timed_async(
    call: Callable[[], Awaitable[object]], gap_seconds: float, trips: int
) -> Figures:
    cpu, wall = [], []
    for _ in range(trips):
        if gap_seconds:
            await asyncio.sleep(gap_seconds)
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        await call()
        cpu.append(time.process_time() - cpu_started)
        wall.append(time.perf_counter() - wall_started)
    return statistics.median(cpu), statistics.median(wall)


async def _wakeups(gap_seconds: float, trips: int) -> Figures:
    """CPU and wall time a loop that only sleeps spends per wakeup, the sleep included."""
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    for _ in range(trips):
        await asyncio.sleep(gap_seconds)
    return (
        (time.process_time() - cpu_started) / trips,
        (time.perf_counter() - wall_started) / trips,
    )


def _blocking_peers(with_redis: bool) -> dict[str, Callable[[], None]]:
    peers: dict[str, Callable[[], None]] = {"PostgreSQL SELECT 1": _select_one}
    if with_redis:
        peers["Redis PING"] = redis.Redis(connection_pool=sync_pool(servers()[0])).ping
    return peers


async def _from_the_loop(gaps: list[float], trips: int) -> list[dict[str, Figures]]:
    """Each gap's figures, in the order of `gaps`."""
    through_thread = database_sync_to_async(_select_one)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "SELECT 1 via the database thread": through_thread
    }
    on_loop: psycopg.AsyncConnection | None = None
    if connection.vendor == "postgresql":
        on_loop = await connect_on_loop()

        async def select_one_on_the_loop() -> None:
            assert on_loop is not None
            await (await on_loop.execute("SELECT 1")).fetchone()

        calls["SELECT 1 on the loop"] = select_one_on_the_loop
    try:
        for call in calls.values():
            await call()  # connected before the first timing
        found = []
        for gap in gaps:
            figures = {name: await _timed_async(call, gap, trips) for name, call in calls.items()}
            if gap:
                figures["wakeup"] = await _wakeups(gap, trips)
            found.append(figures)
        return found
    finally:
        if on_loop is not None:
            await on_loop.close()
        await database_sync_to_async(_close_connection)()


def _row(gap_ms: float, figures: dict[str, Figures]) -> str:
    cells = [
        f"{name} {cpu * 1e6:5.0f} / {wall * 1e6:5.0f}" for name, (cpu, wall) in figures.items()
    ]
    return f"  gap {gap_ms:5g} ms:  " + "   ".join(cells)


def report(gaps_ms: list[float], trips: int, with_redis: bool) -> str:
    peers = _blocking_peers(with_redis)
    for call in peers.values():
        call()  # connected before the first timing
    gaps = [gap_ms / 1000 for gap_ms in gaps_ms]
    lines = [f"one round trip after a quiet gap: process CPU / wall µs, medians of {trips}"]
    for gap_ms, gap in zip(gaps_ms, gaps, strict=True):
        lines.append(_row(gap_ms, {name: _timed(call, gap, trips) for name, call in peers.items()}))
    connection.close()  # the database thread opens its own
    lines.append("from an event loop (uvloop); a wakeup's wall time is its sleep")
    for gap_ms, figures in zip(gaps_ms, uvloop.run(_from_the_loop(gaps, trips)), strict=True):
        lines.append(_row(gap_ms, figures))
    return "\n".join(lines)
