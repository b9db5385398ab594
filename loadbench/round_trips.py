"""CPU of one round trip to PostgreSQL and to Redis after a quiet spell (docs/performance.md).

A gateway's post path is round trips: to Redis (admission, after the commit) and to
PostgreSQL (the flush). On some virtual machines a round trip to a peer that has been idle
for a few milliseconds costs the caller several times the CPU of one made back to back,
so what a post costs depends on the machine as much as on our code. This times a
`SELECT 1` (Django's connection) and a Redis `PING` (REDIS_URL's first server) after each
gap: process CPU and wall time, medians.
"""

import statistics
import time
from collections.abc import Callable

import redis
from django.db import connection

from livecomments.redis_topology import servers, sync_pool


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _timed(call: Callable[[], None], gap_seconds: float, trips: int) -> tuple[float, float]:
    """Median process CPU and wall time of `call` (seconds), `gap_seconds` after the last."""
    cpu, wall = [], []
    for _ in range(trips):
        if gap_seconds:
            time.sleep(gap_seconds)
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        call()
        cpu.append(time.process_time() - cpu_started)
        wall.append(time.perf_counter() - wall_started)
    return statistics.median(cpu), statistics.median(wall)


def report(gaps_ms: list[float], trips: int, with_redis: bool) -> str:
    peers: dict[str, Callable[[], None]] = {"PostgreSQL SELECT 1": _select_one}
    if with_redis:
        peers["Redis PING"] = redis.Redis(connection_pool=sync_pool(servers()[0])).ping
    for call in peers.values():
        call()  # connected before the first timing
    lines = [f"one round trip after a quiet gap: process CPU / wall µs, medians of {trips}"]
    for gap_ms in gaps_ms:
        figures = []
        for name, call in peers.items():
            cpu, wall = _timed(call, gap_ms / 1000, trips)
            figures.append(f"{name} {cpu * 1e6:5.0f} / {wall * 1e6:5.0f}")
        lines.append(f"  gap {gap_ms:5g} ms:  " + "   ".join(figures))
    return "\n".join(lines)
