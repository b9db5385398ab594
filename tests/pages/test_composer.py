"""The composer in a real Chromium: the characters-left counter and cancelling a reply."""

import pytest

from comments.models import Comment
from tests.browser import PLAYWRIGHT_MISSING
from tests.pages.test_stream_page import comment_item, post

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
expect = playwright_api.expect

LIMIT = 500


def test_the_counter_turns_red_over_the_limit_and_send_says_why(open_page, stream, alice):
    page = open_page(stream, alice)
    field = page.get_by_label("Your comment", exact=True)
    counter = page.locator("[data-char-count]")
    send = page.get_by_role("button", name="Send")
    expect(counter).to_have_text(str(LIMIT))

    field.fill("x" * (LIMIT + 3))
    # Nothing is cut: the text stays whole, the counter says how far over it is.
    expect(field).to_have_value("x" * (LIMIT + 3))
    expect(counter).to_have_text("-3")
    expect(counter).to_have_class("char-count is-over")
    expect(send).to_be_disabled()
    reason = "3 characters too many: comments are at most 500."
    expect(send).to_have_attribute("title", reason)
    expect(page.locator("[data-composer-status]")).to_have_text(reason)

    field.press("Backspace")
    field.press("Backspace")
    field.press("Backspace")
    expect(counter).to_have_text("0")
    expect(counter).not_to_have_class("char-count is-over")
    expect(send).to_be_enabled()
    expect(page.locator("[data-composer-status]")).to_have_text("")


def test_a_refusal_is_cleared_once_the_text_is_valid(open_page, stream, alice):
    page = open_page(stream, alice)
    field = page.get_by_label("Your comment", exact=True)
    post(page, "   ")
    status = page.locator("[data-composer-status]")
    expect(status).to_have_text("Comments are 1 to 500 characters.")
    field.press_sequentially("ok")
    expect(status).to_have_text("")


def test_escape_cancels_a_reply(open_page, stream, alice, bob):
    writer = open_page(stream, alice)
    replier = open_page(stream, bob)
    post(writer, "anyone here?")
    question = comment_item(replier, "anyone here?")
    question.hover()
    question.get_by_role("button", name="Reply to alice").click()
    expect(replier.locator("[data-replying]")).to_be_visible()

    replier.get_by_label("Your comment", exact=True).press("Escape")

    expect(replier.locator("[data-replying]")).to_be_hidden()
    post(replier, "not a reply")
    expect(comment_item(writer, "not a reply")).to_have_count(1)
    assert Comment.objects.get(content="not a reply").parent_id is None
