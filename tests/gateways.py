"""Real gateway processes for tests: daphne subprocesses on the test database and Redis.

Use with @pytest.mark.django_db(transaction=True) so that what a test writes is
committed and visible to the gateways.
"""

import json
import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import websockets
from django.conf import settings
from django.db import connection

from livecomments.servers import gateway_command

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gateway_database_url() -> str:
    """The URL of the database pytest-django created, for processes outside the test."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        raise RuntimeError("gateway processes need PostgreSQL (set DATABASE_URL)")
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


class GatewayProcess:
    def __init__(self, port: int, process: subprocess.Popen, log_path: Path) -> None:
        self.port = port
        self.process = process
        self.log_path = log_path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/live/"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=None) -> None:
        if self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_gateway(
    tmp_path: Path,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    server: str = "daphne",
) -> GatewayProcess:
    """Start a gateway (on `port`, to restart one where it was) and wait until it listens."""
    port = port or free_port()
    extra_env = extra_env or {}
    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", **extra_env}
    # By default the gateway shares the test's database and Redis; the fault suite brings
    # its own (and runs on the embedded default too).
    if "DATABASE_URL" not in extra_env:
        env["DATABASE_URL"] = gateway_database_url()
    if "REDIS_URL" not in extra_env:
        env["REDIS_URL"] = settings.REDIS_URL
    log_path = tmp_path / f"gateway-{port}.log"
    with open(log_path, "a") as log:
        process = subprocess.Popen(
            gateway_command(server, "127.0.0.1", port),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    gateway = GatewayProcess(port, process, log_path)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited:\n{gateway.log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return gateway
        except OSError:
            time.sleep(0.1)
    gateway.stop()
    raise RuntimeError(f"gateway did not listen:\n{gateway.log()}")


@contextmanager
def gateways(
    tmp_path: Path,
    count: int,
    extra_env: dict[str, str] | None = None,
    servers: tuple[str, ...] = ("daphne",),
):
    """Start `count` gateways, taking their servers from `servers` in turn."""
    started = []
    try:
        for index in range(count):
            started.append(start_gateway(tmp_path, extra_env, server=servers[index % len(servers)]))
        yield started
    finally:
        for gateway in started:
            gateway.stop()


async def ws_connect(gateway: GatewayProcess, user=None):
    headers = {}
    if user is not None:
        headers["Authorization"] = f"Token {user.auth_token.key}"
    return await websockets.connect(
        gateway.ws_url, origin=gateway.origin, additional_headers=headers, max_size=None
    )


async def ws_send(ws, kind: str, **payload) -> None:
    await ws.send(json.dumps({"type": kind, "payload": payload}))


async def ws_receive_type(ws, kind: str, timeout: float = 5):
    """Skip frames until one of `kind` arrives within `timeout` seconds."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        text = await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time()))
        message = json.loads(text)
        if message["type"] == kind:
            return message["payload"]
