"""Hostile input: the parser never crashes, and production settings pass Django's deploy checks."""

import contextlib
import json
import os
import subprocess
import sys

import pytest

from comments.limits import SocketLimits
from comments.protocol import CLIENT_MESSAGES, parse_client_frame
from livecomments.errors import InvalidMessage
from tests.gateways import PROJECT_ROOT

pytest.importorskip("hypothesis", reason="property tests need Hypothesis: pip install -e '.[dev]'")
from hypothesis import given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from([*CLIENT_MESSAGES, "nope", ""]), payload=json_values)
def test_the_parser_accepts_or_refuses_every_frame_of_every_type(kind, payload):
    text = json.dumps({"type": kind, "payload": payload})
    try:
        parsed_kind, parsed = parse_client_frame(text)
    except InvalidMessage:
        return
    assert parsed_kind == kind and isinstance(parsed, CLIENT_MESSAGES[kind])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_the_parser_refuses_garbage_with_invalid_message(text):
    with contextlib.suppress(InvalidMessage):
        parse_client_frame(text)  # anything else raised fails the test


def test_a_flood_of_sockets_from_one_address_is_capped():
    import asyncio

    async def inner(scope, receive, send):
        await asyncio.sleep(3600)

    async def flood():
        limits = SocketLimits(inner, max_per_client=3, max_buffered=0)
        sent = []

        async def receive():
            return {"type": "websocket.connect"}

        async def send(message):
            sent.append(message)

        scope = {"type": "websocket", "client": ("203.0.113.9", 1234), "headers": []}
        held = [asyncio.ensure_future(limits(scope, receive, send)) for _ in range(3)]
        await asyncio.sleep(0)
        await limits(scope, receive, send)  # the fourth is refused at once
        assert sent == [{"type": "websocket.close", "code": 1008}]
        other = {**scope, "client": ("198.51.100.7", 1)}
        held.append(asyncio.ensure_future(limits(other, receive, send)))
        await asyncio.sleep(0)
        assert limits.open["198.51.100.7"] == 1
        for task in held:
            task.cancel()

    asyncio.run(flood())


@pytest.mark.timeout(60)
def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "a-production-secret-that-is-long-and-random-0123456789-abcdefghijkl",
        "DJANGO_ALLOWED_HOSTS": "live.example.com",
        "DJANGO_HSTS_SECONDS": "31536000",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_behind_a_trusted_proxy_sockets_count_per_forwarded_client(settings):
    import asyncio

    settings.LIVE_COMMENTS = {**settings.LIVE_COMMENTS, "TRUSTED_PROXIES": ["10.9.9.9"]}

    async def inner(scope, receive, send):
        await asyncio.sleep(3600)

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        pass

    async def connect_both():
        limits = SocketLimits(inner, max_per_client=3, max_buffered=0)
        headers = [(b"x-forwarded-for", b"1.2.3.4, 5.6.7.8")]
        proxied = {"type": "websocket", "client": ("10.9.9.9", 1), "headers": headers}
        spoofed = {**proxied, "client": ("198.51.100.7", 1)}
        held = [asyncio.ensure_future(limits(s, receive, send)) for s in (proxied, spoofed)]
        await asyncio.sleep(0)
        for task in held:
            task.cancel()
        return dict(limits.open)

    assert asyncio.run(connect_both()) == {"5.6.7.8": 1, "198.51.100.7": 1}
