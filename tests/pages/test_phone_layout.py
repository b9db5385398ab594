"""The stream page on a phone (390 by 844): the video stays in view, the composer above the fold."""

import os

import pytest

from tests.browser import PLAYWRIGHT_MISSING
from tests.pages.test_stream_page import comment_item, post

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
expect = playwright_api.expect

PHONE = {"width": 390, "height": 844}


def within_the_screen(box):
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


@pytest.mark.server_env(LC_RATE_STREAM_COUNT="100", LC_RATE_GLOBAL_COUNT="100")
def test_on_a_phone_the_video_and_the_composer_are_both_in_view(open_page, stream, alice, tmp_path):
    stream.video_url = "/static/demo/demo-loop.webm"
    stream.save(update_fields=["video_url"])
    page = open_page(stream, alice, viewport=PHONE)
    for number in range(20):
        post(page, f"a long chat, comment {number}")
    expect(comment_item(page, "a long chat, comment 19").locator(".comment-status")).to_have_count(
        0
    )

    assert within_the_screen(page.locator(".player-video").bounding_box())
    assert within_the_screen(page.get_by_label("Your comment", exact=True).bounding_box())
    assert within_the_screen(page.get_by_role("button", name="Send").bounding_box())
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Scrolling the page (a keyboard opening, a short screen) leaves the video on top.
    page.mouse.wheel(0, 600)
    page.wait_for_timeout(200)
    video = page.locator(".player-video").bounding_box()
    assert video is not None and video["y"] >= 0 and video["y"] < 60, video
    path = os.environ.get("LC_PHONE_SCREENSHOT") or str(tmp_path / "phone.png")
    page.screenshot(path=path)


def test_an_anonymous_viewer_is_told_why_reactions_are_off(open_page, stream):
    page = open_page(stream, viewport=PHONE)
    for button in page.locator("[data-reaction]").all():
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("title", "Log in to react.")
    expect(page.get_by_role("link", name="Log in to react")).to_be_visible()
