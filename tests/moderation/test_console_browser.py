"""The live moderation console in Debian's Chromium, against two real gateways: the console
on one, the viewers' sockets on the other, so that everything crosses Redis.

They need PostgreSQL and Redis (DATABASE_URL, REDIS_URL) and Playwright; they skip without.
Every wait is for a state, bounded by the second the product promises.
"""

import json
import os
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from comments.models import Comment

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
LIVE_BOUND_S = 1.0


@pytest.fixture(scope="module")
def gateways(two_gateways):
    if connection.vendor != "postgresql":
        pytest.skip("browser tests need PostgreSQL: set DATABASE_URL (and REDIS_URL)")
    return two_gateways


@pytest.fixture(scope="module")
def browser(gateways):
    """Chromium, started after the gateways so that they do not inherit ASYNC_UNSAFE."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright")
    playwright_api.expect.set_options(timeout=10_000)
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are safe.
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ[ASYNC_UNSAFE]
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def open_console(browser, gateways):
    """The console of `stream` for `user`, served by the second gateway, once it is live."""
    from playwright.sync_api import expect

    contexts = []

    def open_it(stream, user):
        gateway = gateways[1]
        base = f"http://127.0.0.1:{gateway.port}"
        context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
        contexts.append(context)
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}]
        )
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(f"/moderate/{stream.id}/")
        expect(page.locator("[data-connection]")).to_have_text("Live")
        return page

    yield open_it
    for context in contexts:
        for page in context.pages:
            assert page.errors == [], page.errors
        context.close()


@pytest.fixture
def viewer_socket(gateways):
    """A user's socket on the first gateway, joined to the stream (websockets' blocking client)."""
    from websockets.sync.client import connect

    opened = ExitStack()

    def open_socket(user, stream):
        gateway = gateways[0]
        ws = opened.enter_context(
            connect(
                f"ws://127.0.0.1:{gateway.port}/ws/live/",
                origin=gateway.origin,
                additional_headers={"Authorization": f"Token {user.auth_token.key}"},
            )
        )
        send(ws, "join_stream", streamId=str(stream.id))
        receive(ws, "comments_batch", timeout=10)
        return ws

    with opened:
        yield open_socket


def send(ws, kind, **payload):
    ws.send(json.dumps({"type": kind, "payload": payload}))


def receive(ws, kind, timeout=LIVE_BOUND_S):
    """The next frame of `kind` within `timeout` seconds, skipping others."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kind} within {timeout} s")
        try:
            frame = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            raise AssertionError(f"no {kind} within {timeout} s") from None
        if frame["type"] == kind:
            return frame["payload"]


def post(ws, stream, content):
    send(
        ws,
        "post_comment",
        streamId=str(stream.id),
        content=content,
        idempotencyKey=str(uuid.uuid4()),
    )
    ack = receive(ws, "ack", timeout=10)
    assert ack["status"] == "accepted", ack
    return ack["commentId"]


def row(page, comment_id):
    return page.locator(f'li[data-comment-id="{comment_id}"]')


def test_a_comment_posted_on_one_gateway_is_in_the_console_on_the_other_within_a_second(
    open_console, viewer_socket, alice, moderator, stream
):
    from playwright.sync_api import expect

    page = open_console(stream, moderator)
    alice_ws = viewer_socket(alice, stream)

    comment_id = post(alice_ws, stream, "hello from gateway A")

    expect(row(page, comment_id)).to_contain_text("hello from gateway A", timeout=1000)
    expect(page.locator("[data-comment-rate]")).to_have_text("1")


def test_a_one_click_hide_leaves_every_viewer_within_a_second(
    open_console, viewer_socket, alice, bob, moderator, stream
):
    from playwright.sync_api import expect

    page = open_console(stream, moderator)
    bob_ws = viewer_socket(bob, stream)
    comment_id = post(viewer_socket(alice, stream), stream, "spoilers: it lands")
    expect(row(page, comment_id)).to_be_visible()
    receive(bob_ws, "comments_batch")

    row(page, comment_id).get_by_role("button", name="Hide alice's comment").click()

    assert receive(bob_ws, "comments_removed")["commentIds"] == [comment_id]
    # The console keeps it, struck through, to be unhidden.
    expect(row(page, comment_id)).to_have_class("comment mod-row is-hidden")
    expect(page.locator("[data-action-log] li").first).to_have_text("✓ Hide alice's commentUndo")
    assert Comment.objects.get(id=comment_id).is_hidden


def test_keys_act_on_the_focused_comment_and_a_refusal_says_why(
    open_console, viewer_socket, alice, bob, moderator, stream
):
    from playwright.sync_api import expect

    page = open_console(stream, moderator)
    bob_ws = viewer_socket(bob, stream)
    alice_ws = viewer_socket(alice, stream)
    first = post(alice_ws, stream, "pin me")
    second = post(alice_ws, stream, "gone soon")
    expect(row(page, second)).to_be_visible()

    page.locator("[data-comment-list]").focus()
    page.keyboard.press("ArrowUp")  # the newest
    page.keyboard.press("ArrowUp")
    expect(row(page, first)).to_be_focused()
    page.keyboard.press("p")

    assert receive(bob_ws, "comment_updated")["comment"]["isPinned"] is True
    expect(row(page, first)).to_contain_text("Pinned")
    expect(row(page, first)).to_be_focused()  # redrawn, and still where the keys are

    Comment.objects.filter(id=second).delete()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("h")
    expect(page.locator("[data-action-status]")).to_have_text(
        "Not done: Hide alice's comment. That comment or user no longer exists."
    )


def test_a_timeout_from_the_user_card_reaches_the_user(
    open_console, viewer_socket, alice, moderator, stream
):
    from playwright.sync_api import expect

    page = open_console(stream, moderator)
    alice_ws = viewer_socket(alice, stream)
    comment_id = post(alice_ws, stream, "ALL CAPS ALL DAY")
    row(page, comment_id).get_by_role("button", name="Open alice's user card").click()
    card = page.locator("[data-user-card]")
    expect(card.locator("[data-card-facts]")).to_contain_text("1 comment here · 0 hidden")

    card.get_by_label("Reason").fill("caps")
    card.get_by_label("Custom").fill("3")
    card.get_by_role("button", name="Time out", exact=True).click()

    restriction = receive(alice_ws, "restriction_changed")["restriction"]
    assert (restriction["reason"], restriction["until"] is not None) == ("caps", True)
    expect(card.locator("[data-card-restriction]")).to_contain_text("Timed out until")
    expect(row(page, comment_id)).to_contain_text("Timed out")
