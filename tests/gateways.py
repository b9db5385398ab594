"""Real gateway processes for tests: the benchmark's launcher (loadbench.gateways) on the
test database and Redis.

Use with @pytest.mark.django_db(transaction=True) so that what a test writes is
committed and visible to the gateways.
"""

import os
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from loadbench.gateways import PROJECT_ROOT, Gateway, free_port, launch

__all__ = ["PROJECT_ROOT", "Gateway", "free_port", "gateways", "start_gateway"]

# A gateway imports Django, Channels and the app before it listens: ~2 s on a quiet machine,
# over 30 s on a shared one at load 15. Such a machine can give itself more time.
START_SECONDS = float(os.environ.get("LC_TEST_GATEWAY_START_SECONDS", "20"))


def gateway_database_url() -> str:
    """The URL of the database pytest-django created, for processes outside the test."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        raise RuntimeError("gateway processes need PostgreSQL (set DATABASE_URL)")
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def start_gateway(
    tmp_path: Path,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    server: str = "daphne",
) -> Gateway:
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
    gateway = launch(env, tmp_path / f"gateway-{port}.log", port=port, server=server)
    try:
        gateway.wait_listening(START_SECONDS)
    except RuntimeError:
        gateway.stop()
        raise
    return gateway


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
