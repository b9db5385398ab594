"""The fault suite's own Redis and PostgreSQL (one of each per session) and its gateways."""

import json
import os
import signal
import time
from contextlib import contextmanager

import psycopg
import pytest

from tests.gateways import Gateway, start_gateway

from .services import SEED, PrivatePostgres, PrivateRedis, manage, missing_binaries

POSTERS = 8
# Enough that a test drawing streams until it has one on each Redis shard cannot run out.
STREAMS = 40

# What every gateway of the suite runs with: its private services, no rate limits in the
# way of the numbered posts, a send-buffer bound small enough to test quickly.
GATEWAY_ENV = {
    "LC_RATE_GLOBAL_COUNT": "100000",
    "LC_RATE_STREAM_COUNT": "100000",
    "LC_MAX_SOCKETS_PER_CLIENT": "0",
    "DATABASE_POOL_SIZE": "8",
}


def pytest_collection_modifyitems(items):
    reason = missing_binaries()
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.timeout(240))
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


class Services:
    def __init__(self) -> None:
        self.redis = PrivateRedis()
        self.postgres = PrivatePostgres()
        self._streams: list[int] = []
        self.tokens: dict[str, str] = {}

    def start(self) -> None:
        self.redis.start()
        self.postgres.init()
        manage(self.postgres.url, self.redis.url, "migrate", "--verbosity", "0")
        seeded = json.loads(
            manage(
                self.postgres.url,
                self.redis.url,
                "shell",
                stdin=SEED % {"posters": POSTERS, "streams": STREAMS},
            )
            .strip()
            .splitlines()[-1]
        )
        self.tokens = seeded["tokens"]
        self._streams = seeded["streams"]

    def new_stream(self) -> int:
        return self._streams.pop()

    def stored(self, stream_id: int) -> dict[str, str]:
        """The stream's visible comments in the database: id → content."""
        with psycopg.connect(self.postgres.url.replace("postgres://", "postgresql://")) as conn:
            rows = conn.execute(
                "SELECT id, content FROM comments_comment WHERE stream_id = %s AND NOT is_hidden",
                [stream_id],
            ).fetchall()
        return {str(comment_id): content for comment_id, content in rows}

    def cleanup(self) -> None:
        self.redis.cleanup()
        self.postgres.cleanup()


@pytest.fixture(scope="session")
def services():
    found = Services()
    try:
        found.start()
        yield found
    finally:
        found.cleanup()


class Cluster:
    def __init__(self, services: Services, tmp_path) -> None:
        self.services = services
        self.tmp_path = tmp_path
        self.gateways: list[Gateway] = []

    def start(
        self, count: int, extra_env: dict[str, str] | None = None, server: str = "daphne"
    ) -> list[Gateway]:
        env = {
            **GATEWAY_ENV,
            "DATABASE_URL": self.services.postgres.url,
            "REDIS_URL": self.services.redis.url,
            **(extra_env or {}),
        }
        started = [start_gateway(self.tmp_path, env, server=server) for _ in range(count)]
        self.gateways.extend(started)
        return started

    @property
    def ports(self) -> list[int]:
        return [gateway.port for gateway in self.gateways]

    def logs(self) -> str:
        return "\n".join(f"--- gateway {g.port}\n{g.log()[-4000:]}" for g in self.gateways)

    def stop_all(self) -> None:
        for gateway in self.gateways:
            if gateway.process.poll() is None:
                gateway.process.send_signal(signal.SIGKILL)
                gateway.process.wait(5)


@pytest.fixture
def cluster(services, tmp_path):
    found = Cluster(services, tmp_path)
    try:
        yield found
    finally:
        found.stop_all()


@contextmanager
def timed():
    started = time.monotonic()
    figures = {}
    yield figures
    figures["seconds"] = time.monotonic() - started


def report(name: str, **figures) -> None:
    """Print a case's figures (pytest -s shows them; the docs quote them)."""
    line = ", ".join(f"{k}={v}" for k, v in figures.items())
    print(f"\n[faults] {name}: {line}")
    path = os.environ.get("LC_FAULT_FIGURES")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"case": name, **figures}, default=str) + "\n")
