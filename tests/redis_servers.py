"""Real redis-server and redis-sentinel processes of a test's own, on ports no one else uses.

Each runs from a temporary directory and is killed at teardown (`running`). Ports come
from 6400-6499 (servers) and 26400-26499 (Sentinels), away from the machine's Redis.
"""

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import redis

SERVER_PORTS = range(6400, 6500)
SENTINEL_PORTS = range(26400, 26500)
MASTER_NAME = "lcmaster"


def missing_binaries() -> str | None:
    for binary in ("redis-server", "redis-sentinel"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    return None


def _free_port(ports: range, taken: set[int]) -> int:
    for port in ports:
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError(f"no free port in {ports}")


class RedisProcess:
    """One redis-server, or one redis-sentinel watching a primary."""

    def __init__(self, port: int, workdir: Path, *, sentinel_of: int | None = None) -> None:
        self.port = port
        self.dir = workdir / f"redis-{port}"
        self.dir.mkdir()
        self.sentinel_of = sentinel_of
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, replica_of: int | None = None) -> "RedisProcess":
        if self.sentinel_of is not None:
            # Sentinel rewrites its config file as it learns: it must be its own, writable.
            config = self.dir / "sentinel.conf"
            config.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.sentinel_of} 2\n"
                # Fast enough for a test; production keeps the defaults (docs/operations.md).
                f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {MASTER_NAME} 5000\n"
            )
            command = ["redis-sentinel", str(config)]
        else:
            command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                       "--save", "", "--appendonly", "no", "--dir", str(self.dir)]  # fmt: skip
            if replica_of is not None:
                command += ["--replicaof", "127.0.0.1", str(replica_of)]
        with open(self.dir / "log", "a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_answering()
        return self

    def _wait_answering(self) -> None:
        deadline = time.monotonic() + 10
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis on port {self.port} did not start:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no goodbye to the replica or the Sentinels, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)
        self.process = None

    @contextmanager
    def frozen(self):
        """SIGSTOP for the block: connections stay open and nothing is answered, as when a
        server stalls; SIGCONT at its end, unless the block killed it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            if self.process is not None:
                self.process.send_signal(signal.SIGCONT)

    def log(self) -> str:
        path = self.dir / "log"
        return path.read_text()[-3000:] if path.exists() else ""


class RedisServers:
    """What a test started; every process is killed and every directory removed at the end."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lc-redis-ha-"))
        self.started: list[RedisProcess] = []
        self._taken: set[int] = set()

    def server(self, replica_of: RedisProcess | None = None) -> RedisProcess:
        port = _free_port(SERVER_PORTS, self._taken)
        found = RedisProcess(port, self.dir)
        self.started.append(found)
        return found.start(replica_of=replica_of.port if replica_of else None)

    def sentinels(self, primary: RedisProcess, count: int = 3) -> list[RedisProcess]:
        found = []
        for _ in range(count):
            port = _free_port(SENTINEL_PORTS, self._taken)
            sentinel = RedisProcess(port, self.dir, sentinel_of=primary.port)
            self.started.append(sentinel)
            found.append(sentinel.start())
        return found

    def cleanup(self) -> None:
        for process in self.started:
            process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def running():
    servers = RedisServers()
    try:
        yield servers
    finally:
        servers.cleanup()


def sentinel_url(sentinels: list[RedisProcess], db: int = 0) -> str:
    hosts = ",".join(f"127.0.0.1:{s.port}" for s in sentinels)
    return f"redis+sentinel://{hosts}/{MASTER_NAME}/{db}"


def primary_port(sentinels: list[RedisProcess]) -> int | None:
    """The primary's port as the first Sentinel that answers names it."""
    for sentinel in sentinels:
        try:
            found = redis.Redis(
                port=sentinel.port, socket_timeout=0.5
            ).sentinel_get_master_addr_by_name(MASTER_NAME)
        except redis.RedisError:
            continue
        if found:
            return int(found[1])
    return None


def wait_replicating(replica: RedisProcess, timeout: float = 10) -> None:
    """Wait until the replica is in sync with its primary (a failover can then promote it)."""
    client = redis.Redis(port=replica.port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.info("replication").get("master_link_status") == "up":
            return
        time.sleep(0.1)
    raise RuntimeError(f"replica {replica.port} did not sync:\n{replica.log()}")


def wait_sentinels_know_replica(sentinels: list[RedisProcess], timeout: float = 15) -> None:
    """Wait until every Sentinel knows the replica and the other Sentinels (quorum ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = True
        for sentinel in sentinels:
            client = redis.Redis(port=sentinel.port, decode_responses=True)
            master = client.sentinel_master(MASTER_NAME)
            if (
                int(master.get("num-slaves", 0)) < 1
                or int(master.get("num-other-sentinels", 0)) < len(sentinels) - 1
            ):
                ready = False
        if ready:
            return
        time.sleep(0.2)
    raise RuntimeError("the Sentinels did not learn the replica and each other in time")


def use_layer_on(settings, *urls: str) -> None:
    """Point the channel layer (pytest-django's `settings`) at these servers."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": None} for url in urls]},
        }
    }
