"""Several pinned comments: one shown, "N more pinned" for the rest, in one order for all."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from moderation.models import ModerationAction
from moderation.services import pin_comment
from tests.browser import PLAYWRIGHT_MISSING
from tests.pages.test_stream_page import comment_item, post

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
expect = playwright_api.expect


def pin_as_admin(comment_id, moderator):
    def pin():
        try:
            pin_comment(int(comment_id), actor=moderator, source=ModerationAction.Source.ADMIN)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as admin:
        admin.submit(pin).result()


def test_pinned_comments_collapse_to_one_in_the_same_order_for_everyone(
    open_page, stream, alice, bob, moderator
):
    present = open_page(stream, bob)
    writer = open_page(stream, alice)
    ids = {}
    for text in ("first pinned", "second pinned", "third pinned"):
        post(writer, text)
        expect(comment_item(present, text)).to_have_count(1)
        ids[text] = comment_item(present, text).get_attribute("data-comment-id")
    # Pinned in an order unlike the comments' own.
    for text in ("second pinned", "third pinned", "first pinned"):
        pin_as_admin(ids[text], moderator)
    latecomer = open_page(stream)

    for page in (present, latecomer):
        banner = page.locator("[data-pinned]")
        expect(banner.locator(".pinned-comment")).to_have_count(1)
        expect(banner.locator(".pinned-comment")).to_contain_text("third pinned")
        toggle = banner.get_by_role("button", name="2 more pinned")
        toggle.click()
        expect(banner.locator(".pinned-comment .comment-content")).to_have_text(
            ["third pinned", "second pinned", "first pinned"]
        )
        banner.get_by_role("button", name="Show fewer").click()
        expect(banner.locator(".pinned-comment")).to_have_count(1)
