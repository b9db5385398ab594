"""Who may open a socket: origins checked, session cookie and DRF token both work."""

import pytest
from django.conf import settings
from django.test import Client

from tests.clients import WS_ORIGIN, LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_foreign_origin_is_refused():
    connected = await LiveClient(origin=b"https://evil.example").handshake()
    assert not connected


async def test_a_session_cookie_authenticates(alice, stream):
    from asgiref.sync import sync_to_async

    browser = Client()
    await sync_to_async(browser.force_login)(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    client = await LiveClient(headers=[(b"cookie", cookie.encode())]).connect()
    try:
        await client.join(stream)
        ack = await client.post(stream, "via my session")
        assert ack["status"] == "accepted"
    finally:
        await client.close()
    assert WS_ORIGIN[1] == b"http://testserver"


@pytest.mark.parametrize(
    "header",
    [
        (b"authorization", b"Token not-a-real-key"),
        (b"cookie", b"csrftoken=abc; theme=dark"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}=expired-or-forged".encode()),
    ],
    ids=["bad token", "no session cookie", "unknown session"],
)
async def test_a_handshake_without_a_live_session_or_token_is_anonymous(stream, header):
    client = await LiveClient(headers=[header]).connect()
    try:
        await client.join(stream)
        ack = await client.post(stream, "who am I")
        assert ack["code"] == "UNAUTHORIZED"
    finally:
        await client.close()
