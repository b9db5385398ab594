"""The stream page in a real Chromium against a real daphne, PostgreSQL and Redis."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from comments.models import Comment
from moderation.models import ModerationAction
from moderation.services import pin_comment
from tests.browser import PLAYWRIGHT_MISSING

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
Page, expect = playwright_api.Page, playwright_api.expect

MARKUP = "<img src=x onerror=alert(1)>"


def post(page: Page, text: str) -> None:
    page.get_by_label("Your comment", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()


def comment_item(page: Page, text: str):
    return page.locator(".comment").filter(has=page.locator(".comment-content", has_text=text))


def record_statuses(page: Page) -> None:
    """Keep every status text a comment shows, however briefly, in window.statusesSeen."""
    page.evaluate(
        """() => {
            window.statusesSeen = [];
            new MutationObserver((mutations) => {
                for (const mutation of mutations) for (const node of mutation.addedNodes) {
                    const status = node.querySelector?.('.comment-status');
                    if (status) window.statusesSeen.push(status.textContent);
                }
            }).observe(document.querySelector('[data-comment-list]'), {childList: true});
        }"""
    )


def test_a_comment_shows_as_sending_then_appears_in_another_browser(open_page, stream, alice, bob):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    record_statuses(writer)

    post(writer, "hello from alice")

    expect(comment_item(reader, "hello from alice")).to_have_count(1)
    author = comment_item(reader, "hello from alice").locator(".comment-author")
    expect(author).to_have_text("alice")
    # Confirmed in the writer's page: the status is gone and the comment is there once.
    expect(comment_item(writer, "hello from alice")).to_have_count(1)
    expect(comment_item(writer, "hello from alice").locator(".comment-status")).to_have_count(0)
    assert writer.evaluate("window.statusesSeen")[0] == "Sending…"


def test_markup_in_a_comment_is_shown_as_text(open_page, stream, alice, bob):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)

    post(writer, MARKUP)

    for page in (writer, reader):
        expect(comment_item(page, MARKUP).locator(".comment-content")).to_have_text(MARKUP)
        expect(page.locator("[data-comment-list] img")).to_have_count(0)
        assert page.dialogs == []


def test_the_page_reconnects_resumes_and_delivers_what_was_typed_offline(
    open_page, page_server, stream, alice, bob
):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    post(writer, "before the outage")
    expect(comment_item(reader, "before the outage")).to_have_count(1)

    page_server.stop()
    expect(writer.locator("[data-connection]")).to_contain_text("Reconnecting")
    post(writer, "typed while offline")
    expect(comment_item(writer, "typed while offline").locator(".comment-status")).to_have_text(
        "Sending…"
    )

    page_server.restart()

    for page in (writer, reader):
        expect(page.locator("[data-connection]")).to_have_text("Live")
        offline_comment = comment_item(page, "typed while offline")
        expect(offline_comment).to_have_count(1)
        expect(offline_comment.locator(".comment-status")).to_have_count(0)
        expect(comment_item(page, "before the outage")).to_have_count(1)
    assert Comment.objects.filter(content="typed while offline").count() == 1
    assert writer.evaluate("localStorage.length") == 0, "the delivered comment left the queue"


def test_pending_comments_survive_a_reload(open_page, page_server, stream, alice, bob):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    page_server.stop()
    expect(writer.locator("[data-connection]")).to_contain_text("Reconnecting")
    post(writer, "written before the reload")
    expect(comment_item(writer, "written before the reload")).to_have_count(1)

    # The server is down, so the reload is served by nothing: restart first, then reload
    # before the page's backoff brings it back by itself.
    page_server.restart()
    writer.reload()

    expect(comment_item(reader, "written before the reload")).to_have_count(1)
    expect(comment_item(writer, "written before the reload")).to_have_count(1)
    assert Comment.objects.filter(content="written before the reload").count() == 1


@pytest.mark.server_env(LC_RATE_STREAM_COUNT="2", LC_RATE_STREAM_SECONDS="4")
def test_the_rate_limit_counts_down_disables_sending_and_then_retries(
    open_page, stream, alice, bob
):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    field = writer.get_by_label("Your comment", exact=True)

    for number in (1, 2, 3):
        post(writer, f"quick comment {number}")

    send = writer.get_by_role("button", name="Send")
    expect(send).to_be_disabled()
    expect(field).to_have_attribute("placeholder", re.compile(r"^Wait [1-4]s…$"))
    expect(comment_item(writer, "quick comment 3").locator(".comment-status")).to_have_text(
        re.compile(r"^Retry in [1-4]s…$")
    )
    status = writer.locator("[data-composer-status]")
    expect(status).to_contain_text("commenting too fast")
    # Typing goes on during the cooldown; only Send waits, and the status line counts down.
    expect(field).to_be_enabled()
    field.fill("typed during the cooldown")
    expect(status).to_contain_text(re.compile(r"You can post again in [1-4] s\."))
    expect(status).to_contain_text("You can post again in 1 s.")
    expect(send).to_be_enabled()
    expect(field).to_have_value("typed during the cooldown")
    expect(comment_item(reader, "quick comment 3")).to_have_count(1)
    expect(comment_item(writer, "quick comment 3").locator(".comment-status")).to_have_count(0)


def test_a_moderators_pin_shows_up_live(open_page, stream, alice, bob, moderator):
    writer = open_page(stream, alice)
    viewer = open_page(stream, bob)
    post(writer, "pin me please")
    expect(comment_item(viewer, "pin me please")).to_have_count(1)
    comment_id = comment_item(viewer, "pin me please").get_attribute("data-comment-id")

    # From another thread, as an admin request would: Playwright's event loop runs in this
    # one, and the service tells viewers through async_to_sync.
    def pin_as_admin():
        try:
            pin_comment(int(comment_id), actor=moderator, source=ModerationAction.Source.ADMIN)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as admin:
        admin.submit(pin_as_admin).result()

    for page in (writer, viewer):
        expect(page.locator("[data-pinned]")).to_be_visible()
        expect(page.locator("[data-pinned]")).to_contain_text("pin me please")


def test_an_anonymous_viewer_watches_but_must_log_in_to_comment(open_page, stream, alice):
    writer = open_page(stream, alice)
    anonymous = open_page(stream)
    field = anonymous.get_by_label("Your comment", exact=True)
    expect(field).to_be_disabled()
    expect(field).to_have_attribute("placeholder", "Log in to comment")
    expect(anonymous.get_by_role("link", name="Log in").last).to_be_visible()

    post(writer, "anyone can read this")

    expect(comment_item(anonymous, "anyone can read this")).to_have_count(1)
    expect(anonymous.locator("[data-viewer-count]")).to_have_text("2 watching")


def test_a_reply_is_shown_with_its_parent(open_page, stream, alice, bob):
    writer = open_page(stream, alice)
    replier = open_page(stream, bob)
    post(writer, "what time is liftoff?")
    question = comment_item(replier, "what time is liftoff?")
    expect(question).to_have_count(1)

    question.hover()
    question.get_by_role("button", name="Reply to alice").click()
    expect(replier.locator("[data-replying]")).to_contain_text("Replying to alice")
    post(replier, "in ten minutes")

    answer = comment_item(writer, "in ten minutes")
    expect(answer.locator(".comment-parent")).to_have_text("↪ alice: what time is liftoff?")
