"""Shared fixtures: persona users and a live stream, and WebSocket clients (tests.clients).

Tests run against whatever DATABASE_URL and REDIS_URL say (CI: PostgreSQL and Redis);
with neither set they run on the embedded default.
"""

import os

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache

from comments import state
from tests.clients import LiveClient


@pytest.fixture(scope="session", autouse=True)
def close_database_pools(django_db_setup, django_db_blocker):
    """Close psycopg pools before the test database is dropped (they hold connections)."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    # Async tests' ORM calls run in asgiref's one worker thread, whose connection stays
    # checked out of the pool until that thread closes it.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    for connection in connections.all(initialized_only=True):
        if hasattr(connection, "close_pool"):
            connection.close_pool()


@pytest.fixture(scope="session", autouse=True)
def flush_again_after_a_deadlock():
    """A transactional test's teardown truncates every table. Gateway processes shared by a
    module's tests (tests.gateways) go on with their periodic work meanwhile: counting
    comment seconds commits every 5 s (comments.periodic), and a commit that checks its
    foreign keys while the TRUNCATE holds some tables and waits for others deadlocks with
    it. PostgreSQL then fails the TRUNCATE, and the next test would start on the last
    one's rows: flush again (the gateway's transaction has finished by then)."""
    from django.core.management.base import CommandError
    from django.db import OperationalError
    from django.test import TransactionTestCase

    flush = TransactionTestCase._fixture_teardown

    def flush_retrying(self, tries=3):
        for attempt in range(1, tries + 1):
            try:
                return flush(self)
            except CommandError as error:
                deadlock = isinstance(error.__cause__, OperationalError) and (
                    "deadlock detected" in str(error.__cause__)
                )
                if not deadlock or attempt == tries:
                    raise

    TransactionTestCase._fixture_teardown = flush_retrying
    yield
    TransactionTestCase._fixture_teardown = flush


@pytest.fixture(autouse=True)
def fresh_live_state():
    """Each test starts with empty shared state: its own Redis keys and new backends."""
    if settings.REDIS_URL:
        import redis

        from livecomments.redis_topology import sync_pool
        from livecomments.redis_url import parse_redis_url

        for server in parse_redis_url(settings.REDIS_URL):  # every shard, or the primary
            pool = sync_pool(server)
            redis.Redis(connection_pool=pool).flushdb()
            pool.disconnect()
    else:
        cache.clear()  # the embedded default's local-memory cache: answers kept by key
    state.reset_for_tests()
    yield
    state.reset_for_tests()


def make_user(django_user_model, username, **extra):
    from rest_framework.authtoken.models import Token

    user = django_user_model.objects.create_user(username, password="pw-" + username, **extra)
    Token.objects.create(user=user)
    return user


@pytest.fixture
def alice(django_user_model):
    return make_user(django_user_model, "alice")


@pytest.fixture
def bob(django_user_model):
    return make_user(django_user_model, "bob")


@pytest.fixture
def charlie(django_user_model):
    return make_user(django_user_model, "charlie")


@pytest.fixture
def host(django_user_model):
    return make_user(django_user_model, "hannah")


@pytest.fixture
def moderator(django_user_model):
    user = make_user(django_user_model, "mona", is_staff=True)
    group, _ = Group.objects.get_or_create(name="Moderators")
    user.groups.add(group)
    return user


@pytest.fixture
def stream(host):
    from streams.models import Stream

    return Stream.objects.create(title="Launch day", host=host)


@pytest.fixture
async def clients():
    """Open LiveClients with `await clients(user)`; all are closed after the test."""
    opened = []

    async def open_client(user=None, **kwargs):
        client = await LiveClient(user, **kwargs).connect()
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()
    from comments.gateway import gateway

    await gateway().close()


def pytest_report_header(config):
    return (
        f"database: {os.environ.get('DATABASE_URL') or 'sqlite (embedded)'}; "
        f"redis: {os.environ.get('REDIS_URL') or 'none (in-memory)'}"
    )
