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


def fully_visible(page, locator) -> bool:
    """In the screen and on top there: what a finger would touch is this element."""
    box = locator.bounding_box()
    if not within_the_screen(box) or box["x"] < 0 or box["x"] + box["width"] > PHONE["width"]:
        return False
    return locator.evaluate(
        """(node) => {
            const box = node.getBoundingClientRect();
            const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
            return hit !== null && (hit === node || node.contains(hit));
        }"""
    )


def assert_video_and_composer_in_view(page):
    assert within_the_screen(page.locator(".player-video").bounding_box())
    assert fully_visible(page, page.get_by_label("Your comment", exact=True))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.server_env(LC_RATE_STREAM_COUNT="100", LC_RATE_GLOBAL_COUNT="100")
def test_on_a_phone_a_viewer_edits_and_deletes_their_comment_by_touch(
    open_page, stream, alice, bob
):
    stream.video_url = "/static/demo/demo-loop.webm"
    stream.save(update_fields=["video_url"])
    phone = open_page(stream, alice, viewport=PHONE, touch=True)
    reader = open_page(stream, bob)
    assert phone.evaluate("matchMedia('(hover: none)').matches")
    for number in range(12):
        post(phone, f"filling the chat, line {number}")
    post(phone, "helo from my phone")
    mine = comment_item(phone, "helo from my phone")
    expect(mine.locator(".comment-status")).to_have_count(0)

    # The ⋮ is there without hover, big enough for a finger, and opens the menu on a tap.
    menu_button = mine.get_by_role("button", name="Edit or delete your comment")
    expect(menu_button).to_be_visible()
    size = menu_button.bounding_box()
    assert size["width"] >= 24 and size["height"] >= 24, size
    assert fully_visible(phone, menu_button)
    menu_button.tap()
    edit = phone.get_by_role("button", name="Edit your comment", exact=True)
    expect(edit).to_be_visible()
    assert fully_visible(phone, edit)
    edit.tap()

    # The inline editor, in view with its own Save and Cancel (a phone has no Escape key).
    editor = phone.get_by_label("Edit your comment (Enter saves, Escape cancels)")
    expect(editor).to_be_focused()
    assert fully_visible(phone, editor)
    assert_video_and_composer_in_view(phone)
    editor.fill("hello from my phone")
    save = phone.get_by_role("button", name="Save your edit")
    assert fully_visible(phone, save)
    save.tap()
    for page in (phone, reader):
        edited = comment_item(page, "hello from my phone")
        expect(edited.locator(".comment-edited")).to_have_text("(edited)")
    expect(phone.locator("[data-moderation-status]")).to_have_text("Your comment was edited.")

    # Cancel by touch leaves the text as it was.
    mine = comment_item(phone, "hello from my phone")
    mine.get_by_role("button", name="Edit or delete your comment").tap()
    phone.get_by_role("button", name="Edit your comment", exact=True).tap()
    phone.get_by_label("Edit your comment (Enter saves, Escape cancels)").fill("never mind")
    phone.get_by_role("button", name="Cancel the edit").tap()
    expect(mine.locator(".comment-content")).to_have_text("hello from my phone")

    # Delete, with the confirm step in view.
    mine.get_by_role("button", name="Edit or delete your comment").tap()
    delete = phone.get_by_role("button", name="Delete your comment", exact=True)
    assert fully_visible(phone, delete)
    delete.tap()
    confirm = phone.get_by_role("button", name="Yes, delete your comment")
    expect(confirm).to_be_visible()
    assert fully_visible(phone, confirm)
    confirm.tap()
    for page in (phone, reader):
        expect(comment_item(page, "hello from my phone")).to_have_count(0)
    expect(phone.locator("[data-moderation-status]")).to_have_text("Your comment was deleted.")
    assert_video_and_composer_in_view(phone)
