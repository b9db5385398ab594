"""Where a gateway's memory per idle socket goes (`manage.py socket_memory`).

One gateway process (loadbench.traced_gateway) serves N idle viewers joined to a stream,
then 2N: what the second N added, divided by N, is the cost of a socket. It is read
three ways, each a difference of two readings taken after a full collection: the RSS
(the figure loadbench reports, noisy below ~1,000 sockets), the objects the collector
tracks by type, and, with tracing on, tracemalloc's snapshots compared by line (or by
traceback, to see who made what). Tracing makes the gateway slow and its RSS meaningless,
so the RSS is reported only without it.
"""

import asyncio
import os
import secrets
import signal
import sysconfig
import tempfile
import time
from pathlib import Path
from pickle import load
from tracemalloc import Filter, Snapshot

import orjson
import psutil
from django.conf import settings
from websockets.asyncio.client import connect

from . import population
from .gateways import PROJECT_ROOT, Gateway, start_gateways

JOIN_CONCURRENCY = 50
SETTLE_SECONDS = 2.0


async def _open_viewers(gateway: Gateway, stream_id: int, count: int, into: list) -> None:
    """Open `count` anonymous viewers joined to the stream (each has had its backfill)."""
    join = orjson.dumps({"type": "join_stream", "payload": {"streamId": str(stream_id)}})
    handshakes = asyncio.Semaphore(JOIN_CONCURRENCY)

    async def viewer() -> None:
        async with handshakes:
            socket = await connect(
                gateway.url, origin=gateway.origin, compression=None, ping_interval=None
            )
            await socket.send(join.decode())
            while True:
                message = orjson.loads(await socket.recv())
                if message["type"] == "comments_batch" and message["payload"]["isBackfill"]:
                    break
            into.append(socket)

    await asyncio.gather(*(viewer() for _ in range(count)))


async def _reading(gateway: Gateway, dump: str, number: int) -> dict:
    """Have the gateway write down its memory; its RSS with it."""
    await asyncio.sleep(SETTLE_SECONDS)
    assert gateway.pid is not None
    os.kill(gateway.pid, signal.SIGUSR1)
    path = Path(f"{dump}.{number}")
    while not path.exists():
        await asyncio.sleep(0.2)
    with path.open("rb") as found:
        reading = load(found)
    reading["rss"] = psutil.Process(gateway.pid).memory_info().rss
    reading["trace"] = Path(f"{dump}.{number}.trace")
    return reading


async def _measure(gateway: Gateway, stream_id: int, sockets: int, dump: str) -> list[dict]:
    viewers: list = []
    try:
        await _open_viewers(gateway, stream_id, 20, viewers)  # the stream's room, warm
        readings = []
        for number in (1, 2):
            await _open_viewers(gateway, stream_id, sockets, viewers)
            readings.append(await _reading(gateway, dump, number))
        return readings
    finally:
        await asyncio.gather(*(viewer.close() for viewer in viewers), return_exceptions=True)


def measure(
    server: str,
    sockets: int,
    *,
    frames: int = 1,
    by: str = "lineno",
    top: int = 25,
    extra_env: dict[str, str] | None = None,
    redis_url: str | None = None,
) -> str:
    """Run the measurement; return the report (per socket: RSS, objects by type, traces)."""
    stream_id = population.create_stream(f"socket memory {server} {secrets.token_hex(3)}")
    with tempfile.TemporaryDirectory(prefix="socket-memory-") as scratch:
        dump = f"{scratch}/dump"
        group = start_gateways(
            "ours",
            1,
            database_url=population.database_url(),
            redis_url=redis_url or settings.REDIS_URL,
            raise_limits=False,
            log_dir=Path(scratch),
            server=server,
            extra_env={
                **(extra_env or {}),
                "LOADBENCH_MEMORY_DUMP": dump,
                "LOADBENCH_TRACE_FRAMES": str(frames),
            },
            wrapper=("-m", "loadbench.traced_gateway"),
            ready_timeout=120,
        )
        started = time.monotonic()
        try:
            before, after = asyncio.run(_measure(group.gateways[0], stream_id, sockets, dump))
        finally:
            group.stop()
        lines = [
            f"{server}: {sockets} idle sockets joined against {2 * sockets}, per socket "
            f"({time.monotonic() - started:.0f} s)"
        ]
        if not frames:
            rss = (after["rss"] - before["rss"]) / sockets / 1024
            lines.append(f"  RSS: {rss:.2f} KB")
        lines.extend(_by_type(before, after, sockets, top))
        if frames:
            lines.extend(_by_trace(before["trace"], after["trace"], sockets, by, top))
    return "\n".join(lines)


def _by_type(before: dict, after: dict, sockets: int, top: int) -> list[str]:
    names = set(before["counts"]) | set(after["counts"])
    grown = sorted(
        (
            (after["sizes"][name] - before["sizes"][name]) / sockets,
            (after["counts"][name] - before["counts"][name]) / sockets,
            name,
        )
        for name in names
    )[::-1]
    total = sum(size for size, _, _ in grown)
    lines = [f"  objects the collector tracks (shallow sizes): {total:,.0f} B"]
    lines += [
        f"    {size:8,.0f} B {count:6.2f}  {name}" for size, count, name in grown[:top] if size > 0
    ]
    return lines


def _by_trace(before: Path, after: Path, sockets: int, by: str, top: int) -> list[str]:
    ignored = [Filter(False, "<frozen importlib._bootstrap*>"), Filter(False, "*/tracemalloc.py")]
    stats = (
        Snapshot.load(str(after))
        .filter_traces(ignored)
        .compare_to(Snapshot.load(str(before)).filter_traces(ignored), by)
    )
    total = sum(stat.size_diff for stat in stats) / sockets
    lines = [f"  traced (tracemalloc, by {by}): {total:,.0f} B"]
    for stat in stats[:top]:
        size = f"    {stat.size_diff / sockets:8,.0f} B {stat.count_diff / sockets:6.2f} blocks"
        if by == "traceback":
            lines.append(size)
            lines += [f"      {_short(line.strip())}" for line in stat.traceback.format()]
        else:
            lines.append(f"{size}  {_short(str(stat.traceback))}")
    return lines


def _short(line: str) -> str:
    """A traceback line with the installation's directories left out."""
    for directory in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"]):
        line = line.replace(f"{directory}/", "")
    return line.replace(f"{PROJECT_ROOT}/", "")
