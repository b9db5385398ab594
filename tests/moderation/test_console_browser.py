"""The live moderation console in Debian's Chromium, against two real gateways: the console
on one, the viewers' sockets on the other, so that everything crosses Redis.

They need PostgreSQL and Redis (DATABASE_URL, REDIS_URL) and Playwright; they skip without.
Every wait is for a state, bounded by the second the product promises.
"""

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
from django.db import connection
from django.test import Client

from comments.models import Comment
from moderation.models import BlockedTerm, ModerationAction
from moderation.services import deny_comment
from streams.services import change_chat_settings
from tests.browser import chromium_for_tests

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_BOUND_S = 1.0


@pytest.fixture(scope="module")
def gateways(two_gateways):
    if connection.vendor != "postgresql":
        pytest.skip("browser tests need PostgreSQL: set DATABASE_URL (and REDIS_URL)")
    return two_gateways


@pytest.fixture(scope="module")
def browser(gateways):
    """Chromium, started after the gateways so that they do not inherit ASYNC_UNSAFE."""
    with chromium_for_tests(expect_timeout_ms=10_000) as browser:
        yield browser


@pytest.fixture
def open_signed_in(browser, gateways):
    """A page for `user` on gateway `index`, once its socket is live; no page may throw."""
    from playwright.sync_api import expect

    contexts = []

    def open_it(path, user, index):
        gateway = gateways[index]
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
        page.goto(path)
        expect(page.locator("[data-connection]")).to_have_text("Live")
        return page

    yield open_it
    for context in contexts:
        for page in context.pages:
            assert page.errors == [], page.errors
        context.close()


@pytest.fixture
def open_console(open_signed_in):
    """The console of `stream` for `user`, served by the second gateway."""
    return lambda stream, user: open_signed_in(f"/moderate/{stream.id}/", user, 1)


@pytest.fixture
def open_stream_page(open_signed_in):
    """The stream page for a signed-in viewer, served by the first gateway."""
    return lambda stream, user: open_signed_in(f"/streams/{stream.id}/", user, 0)


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


def test_a_timeout_from_the_card_shuts_the_viewers_composer_until_it_ends_by_itself(
    open_console, open_stream_page, alice, moderator, stream
):
    from playwright.sync_api import expect

    console = open_console(stream, moderator)
    alice_page = open_stream_page(stream, alice)
    write(alice_page, "too loud")
    mine = alice_page.locator("li[data-comment-id]").filter(has_text="too loud")
    mine.wait_for()
    comment_id = mine.get_attribute("data-comment-id")

    row(console, comment_id).get_by_role("button", name="Open alice's user card").click()
    card = console.locator("[data-user-card]")
    card.get_by_label("Reason").fill("cool down")
    card.get_by_label("Custom").fill("4")
    card.get_by_role("button", name="Time out", exact=True).click()

    # On the viewer's own page (the other gateway): the end time and why, and no posting.
    composer = alice_page.get_by_label("Your comment", exact=True)
    send = alice_page.get_by_role("button", name="Send")
    expect(alice_page.locator("[data-live-comments]")).to_contain_text(
        "Timed out until", timeout=LIVE_BOUND_S * 1000
    )
    expect(alice_page.locator("[data-live-comments]")).to_contain_text("cool down")
    expect(send).to_be_disabled()
    # Nobody lifts it: at its end the page lets them post again by itself.
    expect(send).to_be_enabled(timeout=8000)
    composer.fill("back again")
    send.click()
    expect(alice_page.locator("li[data-comment-id]").filter(has_text="back again")).to_be_visible()


# --- Held for review and reports --------------------------------------------------------


def held(page, comment_id):
    return page.locator(f'[data-held-list] li[data-held-id="{comment_id}"]')


def reported(page, comment_id):
    return page.locator(f'[data-report-list] li[data-report-id="{comment_id}"]')


def as_the_admin(service, *args, **kwargs):
    """Call a moderation service in a thread of its own: its events are published with
    async_to_sync, which refuses the thread where Playwright's event loop runs."""

    def call():
        try:
            return service(*args, source=ModerationAction.Source.ADMIN, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def hold_links(stream):
    as_the_admin(change_chat_settings, stream.id, {"hold_links": True})


def write(page, content):
    page.locator("#comment-input").fill(content)
    page.get_by_role("button", name="Send").click()


def test_a_held_link_is_shown_only_to_its_author_until_a_click_approves_it_for_everyone(
    open_console, open_stream_page, alice, bob, moderator, stream
):
    from playwright.sync_api import expect

    hold_links(stream)
    console = open_console(stream, moderator)
    alice_page = open_stream_page(stream, alice)
    bob_page = open_stream_page(stream, bob)

    write(alice_page, "the launch replay is at launch.example/replay")

    own = alice_page.locator(".comment.is-own")
    expect(own).to_contain_text("Held for review")
    item = console.locator("[data-held-list] li[data-held-id]")
    expect(item).to_contain_text("launch.example/replay")
    expect(item).to_contain_text("Link")
    expect(console.locator("[data-held-count]")).to_have_text("1")
    comment_id = item.get_attribute("data-held-id")
    assert Comment.objects.get(id=comment_id).review == Comment.Review.HELD
    # Nowhere else: not on another viewer's page, not in the console's feed.
    expect(bob_page.locator("[data-comment-list]")).not_to_contain_text("launch.example")
    expect(row(console, comment_id)).to_have_count(0)

    held(console, comment_id).get_by_role("button", name="Approve alice's held comment").click()

    expect(bob_page.locator(f'li[data-comment-id="{comment_id}"]')).to_contain_text(
        "launch.example/replay", timeout=LIVE_BOUND_S * 1000
    )
    expect(held(console, comment_id)).to_have_count(0)
    expect(console.locator("[data-held-count]")).to_have_text("0")
    expect(console.locator("[data-held-empty]")).to_be_visible()
    expect(row(console, comment_id)).to_contain_text("launch.example/replay")
    expect(console.locator("[data-action-log] li").first).to_have_text(
        "✓ Approve alice's held comment"
    )
    expect(alice_page.locator(f'li[data-comment-id="{comment_id}"]')).to_be_visible()
    expect(alice_page.locator(".comment.is-own")).to_have_count(0)


def test_the_keys_deny_the_focused_held_comment_and_move_to_the_next(
    open_console, open_stream_page, alice, moderator, stream
):
    from playwright.sync_api import expect

    hold_links(stream)
    console = open_console(stream, moderator)
    alice_page = open_stream_page(stream, alice)
    write(alice_page, "buy at shop.example")
    write(alice_page, "or at store.example")
    items = console.locator("[data-held-list] li[data-held-id]")
    expect(items).to_have_count(2)
    first, second = (items.nth(i).get_attribute("data-held-id") for i in range(2))

    console.locator("[data-comment-list]").focus()
    console.keyboard.press("q")
    expect(held(console, first)).to_be_focused()
    console.keyboard.press("d")

    expect(held(console, first)).to_have_count(0)
    expect(held(console, second)).to_be_focused()
    expect(alice_page.locator(".comment.is-own").first).to_contain_text(
        "Not approved by a moderator."
    )
    assert Comment.objects.get(id=first).review == Comment.Review.DENIED
    console.keyboard.press("a")
    expect(held(console, second)).to_have_count(0)
    expect(console.locator("[data-action-status]")).to_have_text(
        "Done: Approve alice's held comment."
    )


def test_another_moderators_decision_takes_the_comment_out_of_the_queue(
    open_console, open_stream_page, alice, moderator, stream
):
    from playwright.sync_api import expect

    hold_links(stream)
    console = open_console(stream, moderator)
    alice_page = open_stream_page(stream, alice)
    write(alice_page, "see example.org")
    # Held first (the author is told), then in the queue: a miss below is the console's.
    expect(alice_page.locator(".comment.is-own")).to_contain_text("Held for review")
    item = console.locator("[data-held-list] li[data-held-id]")
    expect(item).to_have_count(1)

    as_the_admin(deny_comment, int(item.get_attribute("data-held-id")))

    expect(item).to_have_count(0, timeout=LIVE_BOUND_S * 1000)
    expect(console.locator("[data-held-count]")).to_have_text("0")


def test_a_report_from_a_viewers_page_reaches_the_reports_panel(
    open_console, open_stream_page, viewer_socket, alice, bob, moderator, stream
):
    from playwright.sync_api import expect

    console = open_console(stream, moderator)
    bob_page = open_stream_page(stream, bob)
    alice_ws = viewer_socket(alice, stream)
    comment_id = post(alice_ws, stream, "you are all idiots")
    on_bobs_page = bob_page.locator(f'li[data-comment-id="{comment_id}"]')
    expect(on_bobs_page).to_be_visible()

    on_bobs_page.get_by_role("button", name="Report alice's comment").click()
    menu = bob_page.get_by_role("dialog", name="Report alice's comment")
    menu.get_by_role("button", name="Report alice's comment: harassment").click()

    expect(on_bobs_page).to_contain_text("Reported")
    expect(bob_page.locator("[data-moderation-status]")).to_have_text(
        "Reported alice's comment. Thank you: a moderator will look at it."
    )
    # Reported once: the ⋮ is gone from it.
    expect(on_bobs_page.get_by_role("button", name="Report alice's comment")).to_have_count(0)
    report = reported(console, comment_id)
    expect(report).to_contain_text("1 report", timeout=LIVE_BOUND_S * 1000)
    expect(report).to_contain_text("harassment 1")
    expect(console.locator("[data-report-count]")).to_have_text("1")
    expect(row(console, comment_id)).to_contain_text("1 report")

    report.get_by_role("button", name="Dismiss the reports on alice's comment").click()

    expect(report).to_have_count(0)
    expect(console.locator("[data-report-count]")).to_have_text("0")


def test_a_refused_report_says_why_and_ones_own_comment_has_no_report(
    open_stream_page, alice, bob, stream
):
    from playwright.sync_api import expect

    bob_page = open_stream_page(stream, bob)
    write(bob_page, "my own words")
    own = bob_page.locator("li[data-comment-id]").filter(has_text="my own words")
    expect(own).to_be_visible()
    # Its menu is for editing and deleting it: nobody reports their own comment.
    own.locator(".comment-menu-button").click()
    expect(bob_page.get_by_role("button", name=re.compile("^Report"))).to_have_count(0)
    bob_page.keyboard.press("Escape")

    alices = post_as_page_author(open_stream_page, alice, stream, "soon deleted")
    on_bobs_page = bob_page.locator(f'li[data-comment-id="{alices}"]')
    expect(on_bobs_page).to_be_visible()
    Comment.objects.filter(id=alices).delete()
    on_bobs_page.get_by_role("button", name="Report alice's comment").click()
    bob_page.get_by_role("button", name="Report alice's comment: spam").click()

    expect(bob_page.locator("[data-moderation-status]")).to_have_text(
        "Could not report alice's comment: That comment is no longer there."
    )
    expect(on_bobs_page).not_to_contain_text("Reported")


def post_as_page_author(open_stream_page, user, stream, content):
    """Write `content` on `user`'s own page; the id of the comment once it is in their list."""
    page = open_stream_page(stream, user)
    write(page, content)
    mine = page.locator("li[data-comment-id]").filter(has_text=content)
    mine.wait_for()
    return mine.get_attribute("data-comment-id")


def test_a_term_added_in_the_console_shows_its_dry_run_first_then_counts_what_it_holds(
    open_console, viewer_socket, moderator, alice, stream
):
    from playwright.sync_api import expect

    ws = viewer_socket(alice, stream)
    post(ws, stream, "no spoilers please")
    post(ws, stream, "what a launch")
    page = open_console(stream, moderator)
    panel = page.locator("[data-terms-panel]")
    expect(panel.locator("[data-terms-empty]")).to_be_visible()

    panel.get_by_label("New term").fill("spoiler")
    panel.get_by_label("What it does").select_option("hold")
    panel.get_by_label("How it matches").select_option("forms")
    # Block waits for the dry run of what is typed, and the dry run saves nothing.
    expect(panel.locator("[data-term-dry-run]")).to_have_text(
        "Would have matched 1 of the 2 comments so far on this stream: “no spoilers please”"
    )
    assert not BlockedTerm.objects.exists()
    expect(panel.get_by_role("button", name="Block")).to_be_enabled()
    panel.get_by_label("New term").press("Enter")

    row = panel.locator("li[data-term-id]").filter(has_text="spoiler")
    expect(row.locator("[data-hits-hour]")).to_have_text("0")
    expect(panel.locator("[data-terms-count]")).to_have_text("1")
    send(
        ws,
        "post_comment",
        streamId=str(stream.id),
        content="SP0ILERS!",
        idempotencyKey=str(uuid.uuid4()),
    )
    assert receive(ws, "ack", timeout=10)["status"] == "held"

    # The console reads the counters again once the socket tells it of the held comment.
    expect(row.locator("[data-hits-hour]")).to_have_text("1 held")
    expect(row.locator("[data-hits-ever]")).to_have_text("1 held")
    expect(page.locator("[data-held-list] li")).to_have_count(1)

    # By keyboard: what it does, then Remove pressed twice (once to ask, once to confirm).
    row.get_by_label("What “spoiler” does").focus()
    row.get_by_label("What “spoiler” does").select_option("reject")
    expect(panel.locator("[data-terms-status]")).to_have_text("“spoiler”: refuse.")
    row.get_by_role("button", name="Remove “spoiler”").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(panel.locator("li[data-term-id]")).to_have_count(0)
    logged = ModerationAction.objects.filter(actor=moderator).order_by("id")
    assert [(a.kind, a.details.get("term")) for a in logged] == [
        ("block_term", "spoiler"),
        ("change_term", "spoiler"),
        ("unblock_term", "spoiler"),
    ]
    assert logged[1].details["after"] == {"action": "reject", "match": "forms"}
