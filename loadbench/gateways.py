"""Gateway processes the benchmark starts (or is pointed at), and their CPU and memory.

`launch` is how any gateway process is started here, the tests' included (tests.gateways).
"""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from comments.batcher import delivery_policy
from livecomments.servers import APPLICATION, gateway_command

APPLICATIONS = {
    "ours": ("livecomments.settings", APPLICATION),
    "baseline": ("loadbench.baseline_settings", "loadbench.baseline:application"),
}
# Not an ASGI application: a process of its own (loadbench.floor), served by websockets.
FLOOR = "floor"
TARGETS = (*APPLICATIONS, FLOOR)
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

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80

    @property
    def origin(self) -> str:
        """The origin of a page this gateway serves (its sockets must come from one)."""
        return f"http://{urlsplit(self.url).netloc}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gateway {self.url} exited at start:\n{self.log()[-4000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gateway {self.url} did not listen within {timeout} s")

    def stop(self, sig: int | None = None) -> None:
        """Terminate (or send `sig`), and kill after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        if sig is None:
            self.process.terminate()
        else:
            self.process.send_signal(sig)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def launch(
    env: dict[str, str],
    log_path: Path,
    *,
    port: int | None = None,
    server: str = "daphne",
    application: str = APPLICATION,
    quiet: bool = False,
    wrapper: tuple[str, ...] = (),
) -> Gateway:
    """Start one gateway process on 127.0.0.1 (on `port`, or a free one); it may not listen yet.

    `wrapper`: arguments to Python before the server's own `-m daphne`/`-m uvicorn` (e.g.
    `-m loadbench.traced_gateway`, which runs that server traced).
    """
    port = port or free_port()
    python, *command = gateway_command(
        server, "127.0.0.1", port, application=application, quiet=quiet
    )
    return _spawn([python, *wrapper, *command], env, log_path, port)


def floor_command(port: int) -> list[str]:
    """The floor's command line, batching by our tiers (LC_DELIVERY_POLICY or the seed's)."""
    policy = ",".join(f"{t.min_viewers}:{t.interval:g}:{t.delivered:g}" for t in delivery_policy())
    return [sys.executable, "-m", "loadbench.floor", "--port", str(port), "--policy", policy]


def _spawn(command: list[str], env: dict[str, str], log_path: Path, port: int) -> Gateway:
    with open(log_path, "a") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return Gateway(f"ws://127.0.0.1:{port}/ws/live/", process.pid, process, log_path)


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
    extra_env: dict[str, str] | None = None,
    wrapper: tuple[str, ...] = (),
) -> GatewayGroup:
    """Start `count` gateway processes of `target` on free ports and wait until they listen.

    `extra_env`: settings of ours to change on these gateways (not the floor's); `wrapper`:
    as `launch`'s.
    """
    if target == FLOOR:
        if count != 1:
            raise ValueError("the floor is one process: it relays nothing between gateways")
        return _start_floor(log_dir=log_dir, ready_timeout=ready_timeout)
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
    if extra_env:
        env.update(extra_env)
        notes.append(f"gateway settings: {' '.join(f'{k}={v}' for k, v in extra_env.items())}")
    log_dir.mkdir(parents=True, exist_ok=True)
    gateways = []
    group = GatewayGroup(gateways, notes)
    try:
        for index in range(count):
            port = free_port()
            # As the README runs gateways, without an access-log line per socket.
            gateways.append(
                launch(
                    env,
                    log_dir / f"gateway-{target}-{index}-{port}.log",
                    port=port,
                    server=server,
                    application=application,
                    quiet=True,
                    wrapper=wrapper,
                )
            )
        for gateway in gateways:
            gateway.wait_listening(ready_timeout)
    except BaseException:
        group.stop()
        raise
    return group


def _start_floor(*, log_dir: Path, ready_timeout: float) -> GatewayGroup:
    port = free_port()
    command = floor_command(port)
    log_dir.mkdir(parents=True, exist_ok=True)
    gateway = _spawn(
        command,
        dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
        log_dir / f"gateway-floor-0-{port}.log",
        port,
    )
    group = GatewayGroup(
        [gateway],
        [f"the floor: websockets on uvloop, nothing stored, no Redis; tiers {command[-1]}"],
    )
    try:
        gateway.wait_listening(ready_timeout)
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
