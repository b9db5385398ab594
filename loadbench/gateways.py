"""Gateway processes the benchmark starts (or is pointed at), and their CPU and memory."""

import contextlib
import os
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from livecomments.servers import gateway_command

APPLICATIONS = {
    "ours": ("livecomments.settings", "livecomments.asgi:application"),
    "baseline": ("loadbench.baseline_settings", "loadbench.baseline:application"),
}
# High enough that no scenario the tool runs is ever rate limited.
UNLIMITED_RATE = {
    "LC_RATE_GLOBAL_COUNT": "100000000",
    "LC_RATE_GLOBAL_SECONDS": "60",
    "LC_RATE_STREAM_COUNT": "100000000",
    "LC_RATE_STREAM_SECONDS": "30",
}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Gateway:
    url: str
    pid: int | None
    process: subprocess.Popen | None = None
    log_path: Path | None = None


@dataclass
class GatewayGroup:
    """The gateways of one scenario; stops the ones it started, and samples all it knows."""

    gateways: list[Gateway]
    notes: list[str] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [g.url for g in self.gateways]

    def processes(self) -> list[psutil.Process]:
        found = []
        for gateway in self.gateways:
            if gateway.pid is not None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    found.append(psutil.Process(gateway.pid))
        return found

    def rss_bytes(self) -> int | None:
        processes = self.processes()
        if not processes:
            return None
        total = 0
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total

    def dead(self) -> list[str]:
        return [
            g.url for g in self.gateways if g.process is not None and g.process.poll() is not None
        ]

    def log_problems(self) -> list[str]:
        """Lines of the gateways' logs that report errors, so the report can show them."""
        problems = []
        for gateway in self.gateways:
            if gateway.log_path is None or not gateway.log_path.exists():
                continue
            for line in gateway.log_path.read_text(errors="replace").splitlines():
                if "Traceback" in line or " ERROR " in line or " CRITICAL " in line:
                    problems.append(f"{gateway.log_path.name}: {line.strip()[:300]}")
        return problems

    def stop(self) -> None:
        started = [g.process for g in self.gateways if g.process is not None]
        for process in started:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in started:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def start_gateways(
    target: str,
    count: int,
    *,
    database_url: str,
    redis_url: str,
    raise_limits: bool,
    log_dir: Path,
    server: str = "daphne",
    ready_timeout: float = 30,
) -> GatewayGroup:
    """Start `count` gateway processes of `target` on free ports and wait until they listen."""
    settings_module, application = APPLICATIONS[target]
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE=settings_module,
        # Production-shaped: DEBUG would keep every SQL query in memory.
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SSL_REDIRECT="0",
        LOG_LEVEL=os.environ.get("LOADBENCH_GATEWAY_LOG_LEVEL", "WARNING"),
        PYTHONPATH=str(PROJECT_ROOT),
    )
    # Every benchmark socket comes from 127.0.0.1, which the per-address cap would refuse.
    env["LC_MAX_SOCKETS_PER_CLIENT"] = "1000000"
    notes = [
        "sockets per client address uncapped (LC_MAX_SOCKETS_PER_CLIENT): all come from 127.0.0.1"
    ]
    if raise_limits:
        env.update(UNLIMITED_RATE)
        notes.append("rate limits raised for the gateways this run started (LC_RATE_*=100000000)")
    if os.environ.get("LC_DELIVERY_POLICY"):
        notes.append(f"delivery policy from LC_DELIVERY_POLICY: {os.environ['LC_DELIVERY_POLICY']}")
    log_dir.mkdir(parents=True, exist_ok=True)
    gateways = []
    group = GatewayGroup(gateways, notes)
    try:
        for index in range(count):
            port = free_port()
            log_path = log_dir / f"gateway-{target}-{index}-{port}.log"
            with open(log_path, "w") as log:
                process = subprocess.Popen(
                    # As the README runs gateways, without an access-log line per socket.
                    gateway_command(server, "127.0.0.1", port, application=application, quiet=True),
                    cwd=PROJECT_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            gateways.append(
                Gateway(f"ws://127.0.0.1:{port}/ws/live/", process.pid, process, log_path)
            )
        for gateway in gateways:
            _wait_listening(gateway, ready_timeout)
    except BaseException:
        group.stop()
        raise
    return group


def target_gateways(urls: list[str], pids: list[int]) -> GatewayGroup:
    """Gateways someone else runs; CPU and memory are measured only if their pids are given."""
    gateways = [Gateway(url, pids[i] if i < len(pids) else None) for i, url in enumerate(urls)]
    notes = ["the target refuses sockets from one address beyond LC_MAX_SOCKETS_PER_CLIENT (100)"]
    if not pids:
        notes.append("no --gateway-pids: gateway CPU and memory not measured")
    return GatewayGroup(gateways, notes)


def _wait_listening(gateway: Gateway, timeout: float) -> None:
    port = int(gateway.url.split(":")[2].split("/")[0])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gateway.process is not None and gateway.process.poll() is not None:
            tail = gateway.log_path.read_text(errors="replace")[-2000:] if gateway.log_path else ""
            raise RuntimeError(f"gateway {gateway.url} exited at start:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gateway {gateway.url} did not listen within {timeout} s")
