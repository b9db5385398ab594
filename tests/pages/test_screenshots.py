"""Screenshots of the stream page for docs/, taken by the browser-test machinery.

Run on purpose, not in every test run, since it rewrites files in the repository:
    LC_SCREENSHOTS=1 pytest tests/pages/test_screenshots.py
"""

import os
from pathlib import Path

import pytest

from comments.models import Comment
from tests.browser import PLAYWRIGHT_MISSING
from tests.pages.test_ended_stream import end_as_admin
from tests.replay import comment_at, started

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHAT = [
    ("bob", "Hello from Lisbon!"),
    ("charlie", "How long until liftoff?"),
    ("hannah", "Welcome! Be kind, and keep spoilers out of chat."),
    ("mona", "Questions for the crew go in chat, we'll pass them on."),
    ("bob", "that camera angle 😍"),
    ("charlie", "GO GO GO"),
    ("bob", "the sound is incredible"),
]

# When each of CHAT was said, in ms since the stream's start.
CHAT_OFFSETS_MS = [2_000 + 2_500 * n for n in range(len(CHAT))]

VIEWPORTS = [
    ("stream-desktop.png", {"width": 1280, "height": 760}),
    ("stream-phone.png", {"width": 390, "height": 844}),
]

ROLES = {"hannah": Comment.AuthorRole.HOST, "mona": Comment.AuthorRole.MODERATOR}

pytestmark = pytest.mark.skipif(
    not os.environ.get("LC_SCREENSHOTS"), reason="set LC_SCREENSHOTS=1 to rewrite docs/screenshots"
)


def test_take_screenshots_of_the_stream_page(
    open_page, stream, alice, bob, charlie, host, moderator
):
    stream.video_url = "/static/demo/demo-loop.webm"
    stream.save(update_fields=["video_url"])
    # The chat so far falls inside the stream, and inside its recording (the 30 s demo clip),
    # so that the ended stream's replay shows it where it was said.
    stream = started(stream, ago_ms=CHAT_OFFSETS_MS[-1] + 3_000)
    people = {"bob": bob, "charlie": charlie, "hannah": host, "mona": moderator}
    for offset_ms, (username, content) in zip(CHAT_OFFSETS_MS, CHAT, strict=True):
        comment_at(
            stream, people[username], offset_ms, content,
            author_role=ROLES.get(username, Comment.AuthorRole.VIEWER),
            is_highlighted=username in ROLES,
            is_pinned=username == "hannah",
        )  # fmt: skip
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in VIEWPORTS:
        page = open_page(stream, alice, viewport=viewport)
        expect(page.locator(".comment-content", has_text=CHAT[-1][1])).to_be_visible()
        if name == "stream-desktop.png":  # posted once, seen on every page after
            page.get_by_label("Your comment", exact=True).fill("<b>markup</b> stays text")
            page.get_by_role("button", name="Send").click()
        expect(page.locator(".comment-content", has_text="<b>markup</b>")).to_be_visible()
        # Stored, not only drawn as sent: its time and its ⋮ show.
        expect(page.get_by_role("button", name="Edit or delete your comment")).to_have_count(1)
        expect(page.locator(".comment-status")).to_have_count(0)
        page.get_by_label("Your comment", exact=True).fill("Is the countdown on the pad clock?")
        page.screenshot(path=SCREENSHOTS / name, full_page=name.endswith("phone.png"))

    # A moderator's page with a comment's ⋮ menu open.
    page = open_page(stream, moderator, viewport={"width": 1280, "height": 760})
    page.get_by_role("button", name="Moderate charlie's comment").first.click()
    menu = page.get_by_role("dialog", name="Moderate charlie's comment")
    menu.get_by_label("Reason (optional)").fill("spam")
    expect(menu.get_by_role("button", name="Pin charlie's comment")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "stream-moderator.png")

    # The same stream once ended: its replay, at the moment after the chat's last comment; the
    # badge, the composer and the reactions say it has ended.
    end_as_admin(stream, moderator)
    for name, viewport in VIEWPORTS:
        page = open_page(stream, alice, viewport=viewport, ready="Stream ended")
        expect(page.locator("[data-heat-strip] .heat-bar").first).to_be_attached()
        page.wait_for_function("document.querySelector('.player-video').readyState >= 1")
        seconds = (CHAT_OFFSETS_MS[-1] + 1_000) / 1000
        page.evaluate(f"document.querySelector('.player-video').currentTime = {seconds}")
        expect(page.locator("[data-comment-list] .comment-content").last).to_have_text(CHAT[-1][1])
        expect(page.locator(".replay-position")).to_have_text(f"0:{int(seconds):02} / 0:30")
        expect(page.get_by_role("button", name="Send")).to_be_disabled()
        page.screenshot(
            path=SCREENSHOTS / name.replace("stream-", "stream-ended-"),
            full_page=name.endswith("phone.png"),
        )
