"""Shared fixtures: persona users and a live stream, and real WebSocket clients.

Tests run against whatever DATABASE_URL and REDIS_URL say (CI: PostgreSQL and Redis);
with neither set they run on the embedded default.
"""

import asyncio
import json
import os
import uuid

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group

from comments import state

WS_ORIGIN = (b"origin", b"http://testserver")


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


@pytest.fixture(autouse=True)
def fresh_live_state():
    """Each test starts with empty shared state: its own Redis keys and new backends."""
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()
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


class LiveClient:
    """A real WebSocket client of /ws/live/ on Channels' communicator."""

    def __init__(self, user=None, headers=None):
        from livecomments.asgi import application

        all_headers = [WS_ORIGIN]
        if user is not None:
            all_headers.append((b"authorization", f"Token {user.auth_token.key}".encode()))
        all_headers.extend(headers or [])
        self.communicator = WebsocketCommunicator(application, "/ws/live/", headers=all_headers)

    async def connect(self):
        # The handshake looks up the session and token in the database: allow a busy machine.
        connected, code = await self.communicator.connect(timeout=10)
        assert connected, code
        return self

    async def send(self, kind, **payload):
        await self.communicator.send_to(text_data=json.dumps({"type": kind, "payload": payload}))

    async def receive(self, timeout=5):
        text = await self.communicator.receive_from(timeout=timeout)
        return json.loads(text)

    async def receive_type(self, kind, timeout=5):
        """Skip frames until one of `kind` arrives (viewer counts and the like come anytime)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.receive(timeout=max(0.01, deadline - loop.time()))
            if message["type"] == kind:
                return message["payload"]

    async def join(self, stream, **extra):
        await self.send("join_stream", streamId=str(stream.id), **extra)
        state_payload = await self.receive_type("stream_state")
        backfill = await self.receive_type("comments_batch")
        assert backfill["isBackfill"] is True
        return state_payload, backfill

    async def post(self, stream, content, key=None, **extra):
        key = key or str(uuid.uuid4())
        await self.send(
            "post_comment", streamId=str(stream.id), content=content, idempotencyKey=key, **extra
        )
        ack = await self.receive_type("ack")
        assert ack["idempotencyKey"] == key
        return ack

    async def live_comments(self, count, timeout=5):
        """Collect live (not backfill) comments until `count` have arrived."""
        found = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(found) < count:
            batch = await self.receive_type("comments_batch", max(0.01, deadline - loop.time()))
            assert batch["isBackfill"] is False
            found.extend(batch["comments"])
        return found

    async def nothing_more(self, timeout=0.3, ignore=("viewer_count", "reactions_batch")):
        """Assert no frame other than `ignore` arrives within `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            if await self.communicator.receive_nothing(timeout=left):
                return
            message = await self.receive()
            assert message["type"] in ignore, message

    async def close(self):
        await self.communicator.disconnect()


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
