"""A busy chat's list in Chromium: the newest rows while the reader follows the chat, every
comment the page holds once they scroll up to read, and their place kept meanwhile; the
newest comment kept in view while the page around the list changes."""

import json
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.authtoken.models import Token

from comments.models import Comment
from tests.browser import PLAYWRIGHT_MISSING
from tests.pages.test_pinned import pin_as_admin
from tests.pages.test_stream_page import comment_item
from tests.replay import comment_at, started

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
expect = playwright_api.expect

FOLLOWING_ROWS = 150  # view.js

# Where a row sits in the list's window: what a reader sees move, or not.
ROW_OFFSET = """([list, id]) => {
    const row = list.querySelector(`[data-comment-id="${id}"]`);
    return row.getBoundingClientRect().top - list.getBoundingClientRect().top;
}"""
# Scroll up, and note the first row in view at once, before the page draws again.
SCROLL_UP = """(list) => {
    list.scrollTop -= 120;
    const top = list.getBoundingClientRect().top;
    const row = [...list.children].find((li) => li.getBoundingClientRect().bottom > top);
    return [row.dataset.commentId, row.getBoundingClientRect().top - top];
}"""
# How far below the list's window its newest comment ends, in pixels: 0 at the bottom.
BELOW_THE_WINDOW = "(list) => list.scrollHeight - list.scrollTop - list.clientHeight"
# The frame that lays out a change, and the next: the list must be right by then, not at
# the page's next tick (250 ms), or the reader sees it cut short.
NEXT_FRAME = """() => new Promise(
    (drawn) => requestAnimationFrame(() => requestAnimationFrame(drawn)))"""
# A tick of the page and more: time for it to draw again.
A_TICK = "() => new Promise((ticked) => setTimeout(ticked, 300))"
PHONE = {"width": 390, "height": 844}


def post_over_rest(server_url: str, token: str, stream, content: str) -> None:
    """Post through the page server's REST API: its gateway broadcasts it like any post.
    A 503 (UNAVAILABLE, retryable: the server busy) is sent again with the same key."""
    request = urllib.request.Request(
        f"{server_url}/api/streams/{stream.id}/comments/",
        data=json.dumps({"content": content}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Token {token}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        method="POST",
    )
    for attempt in range(5):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 201
                return
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == 4:
                raise
            time.sleep(0.5 * 2**attempt)


@pytest.mark.server_env(LC_RATE_STREAM_COUNT="1000", LC_RATE_GLOBAL_COUNT="1000")
def test_a_busy_list_draws_the_newest_rows_and_all_of_them_for_a_reader_who_scrolls_up(
    open_page, page_server, stream, alice, bob
):
    page = open_page(stream, alice)
    token = Token.objects.get_or_create(user=bob)[0].key
    # A few at a time, as a busy chat's many posters would.
    with ThreadPoolExecutor(max_workers=4) as posters:
        lines = [f"line {number:03}" for number in range(FOLLOWING_ROWS + 20)]
        list(posters.map(lambda line: post_over_rest(page_server.url, token, stream, line), lines))
    oldest, newest = (Comment.objects.earliest("id"), Comment.objects.latest("id"))
    rows = page.locator("[data-comment-list] > li")
    expect(comment_item(page, newest.content)).to_be_visible()
    expect(rows).to_have_count(FOLLOWING_ROWS)
    assert page.locator("[data-new-comments]").is_hidden()

    listing = page.locator("[data-comment-list]")
    reading, offset = listing.evaluate(SCROLL_UP)
    # The 20 older comments are drawn above, and the row being read has not moved.
    expect(rows).to_have_count(FOLLOWING_ROWS + 20)
    expect(comment_item(page, oldest.content)).to_have_count(1)
    assert abs(page.evaluate(ROW_OFFSET, [listing.element_handle(), reading]) - offset) <= 1

    for number in range(3):
        post_over_rest(page_server.url, token, stream, f"while reading {number}")
    expect(page.get_by_role("button", name="3 new comments ↓")).to_be_visible()
    expect(rows).to_have_count(FOLLOWING_ROWS + 23)
    assert abs(page.evaluate(ROW_OFFSET, [listing.element_handle(), reading]) - offset) <= 1

    # Back to the newest: following again, the list is the newest rows once more.
    page.get_by_role("button", name="3 new comments ↓").click()
    expect(comment_item(page, "while reading 2")).to_be_in_viewport()
    expect(rows).to_have_count(FOLLOWING_ROWS)
    expect(page.locator("[data-new-comments]")).to_be_hidden()


def below_the_window_next_frame(page, listing) -> float:
    page.evaluate(NEXT_FRAME)
    return listing.evaluate(BELOW_THE_WINDOW)


@pytest.mark.server_env(LC_RATE_STREAM_COUNT="100", LC_RATE_GLOBAL_COUNT="100")
def test_a_following_reader_keeps_the_newest_comment_in_view_as_the_page_around_the_list_changes(
    open_page, page_server, stream, alice, bob, host, moderator
):
    # On a phone the list gets what the video (loaded after the page), the pinned banner and
    # the composer leave: each one growing after the list scrolled down shrinks it.
    stream.video_url = "/static/demo/demo-loop.webm"
    stream.save(update_fields=["video_url"])
    stream = started(stream, ago_ms=30_000)
    comment_at(stream, host, 1_000, "Welcome! Be kind.", is_pinned=True)
    for number in range(20):
        comment_at(stream, bob, 2_000 + 100 * number, f"earlier line {number}")
    page = open_page(stream, alice, viewport=PHONE)
    listing = page.locator("[data-comment-list]")
    expect(page.locator("[data-pinned] .pinned-comment")).to_have_count(1)
    expect(comment_item(page, "earlier line 19")).to_be_in_viewport(ratio=1)
    assert below_the_window_next_frame(page, listing) <= 1

    # A second pin, longer: the banner shows it on three lines, and "1 more pinned".
    long_pin = comment_at(stream, host, 5_000, "Schedule: " + "countdown, liftoff, orbit; " * 4)
    pin_as_admin(long_pin.id, moderator)
    expect(page.locator("[data-pinned]")).to_contain_text("1 more pinned")
    assert below_the_window_next_frame(page, listing) <= 1
    page.get_by_role("button", name="1 more pinned").click()
    expect(page.locator("[data-pinned] .pinned-comment")).to_have_count(2)
    assert below_the_window_next_frame(page, listing) <= 1

    # A phone's keyboard opening: the window gets shorter, and the list with it.
    page.set_viewport_size({"width": 390, "height": 560})
    assert below_the_window_next_frame(page, listing) <= 1
    page.set_viewport_size(PHONE)

    # Scrolled up to read, the reader keeps their place while the banner changes; a new
    # comment offers the way back down.
    token = Token.objects.get_or_create(user=bob)[0].key
    reading, offset = listing.evaluate(SCROLL_UP)
    page.get_by_role("button", name="Show fewer").click()
    expect(page.locator("[data-pinned] .pinned-comment")).to_have_count(1)
    page.evaluate(A_TICK)
    assert abs(page.evaluate(ROW_OFFSET, [listing.element_handle(), reading]) - offset) <= 1
    post_over_rest(page_server.url, token, stream, "while reading")
    expect(page.get_by_role("button", name="1 new comment ↓")).to_be_visible()
    assert abs(page.evaluate(ROW_OFFSET, [listing.element_handle(), reading]) - offset) <= 1
    page.get_by_role("button", name="1 new comment ↓").click()
    expect(comment_item(page, "while reading")).to_be_in_viewport(ratio=1)
    assert below_the_window_next_frame(page, listing) <= 1
