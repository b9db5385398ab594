"""The whole page turns into its ended state when the stream ends, live or at load."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from moderation.models import ModerationAction
from streams.services import end_stream
from tests.browser import PLAYWRIGHT_MISSING

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
expect = playwright_api.expect

ENDED = "This stream has ended."


def end_as_admin(stream, moderator):
    # From another thread, as an admin request would (see test_stream_page's pin).
    def end():
        try:
            end_stream(stream.id, actor=moderator, source=ModerationAction.Source.ADMIN)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as admin:
        admin.submit(end).result()


def assert_ended(page, signed_in):
    expect(page.locator("[data-stream-badge]")).to_have_text("Ended")
    expect(page.locator("[data-viewer-count]")).to_be_hidden()
    expect(page.locator("[data-connection]")).to_have_text("Stream ended")
    for button in page.locator("[data-reaction]").all():
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("title", ENDED)
    expect(page.locator("[data-reactions-note]")).to_have_text(ENDED)
    field = page.get_by_label("Your comment", exact=True)
    expect(field).to_be_disabled()
    expect(field).to_have_attribute("placeholder", ENDED)
    if signed_in:
        expect(page.get_by_role("button", name="Send")).to_be_disabled()


def test_the_page_turns_ended_when_the_stream_ends(open_page, stream, alice, moderator):
    viewer = open_page(stream, alice)
    anonymous = open_page(stream)
    expect(viewer.locator("[data-stream-badge]")).to_have_text("Live")
    expect(anonymous.locator("[data-reactions-login]")).to_have_text("Log in to react")

    end_as_admin(stream, moderator)

    assert_ended(viewer, signed_in=True)
    assert_ended(anonymous, signed_in=False)
    expect(anonymous.locator("[data-reactions-login]")).to_be_hidden()


def test_a_page_opened_after_the_end_is_ended_too(open_page, stream, alice, moderator):
    end_as_admin(stream, moderator)
    page = open_page(stream, alice, ready="Stream ended")
    anonymous = open_page(stream, ready="Stream ended")
    assert_ended(page, signed_in=True)
    assert_ended(anonymous, signed_in=False)
