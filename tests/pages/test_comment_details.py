"""What each comment shows beside its text: when it was posted and mentions of the viewer."""

import re

import pytest

from tests.browser import PLAYWRIGHT_MISSING
from tests.pages.test_stream_page import comment_item, post

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
expect = playwright_api.expect


def test_a_comment_shows_its_time_and_a_mention_of_the_reader(open_page, stream, alice, bob):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    post(writer, "hey @Bob, <b>look</b>")

    seen_by_bob = comment_item(reader, "hey @Bob")
    expect(seen_by_bob).to_have_count(1)
    expect(seen_by_bob.locator(".comment-time")).to_have_text(re.compile(r"^\d{1,2}:\d{2}"))
    assert seen_by_bob.locator(".comment-time").get_attribute("title")
    expect(seen_by_bob.locator(".mention")).to_have_text("@Bob")
    expect(seen_by_bob.locator(".comment-content")).to_have_text("hey @Bob, <b>look</b>")
    expect(seen_by_bob.locator(".comment-content b")).to_have_count(0)
    # Alice is not the one named: nothing is marked for her.
    seen_by_alice = comment_item(writer, "hey @Bob")
    expect(seen_by_alice.locator(".comment-status")).to_have_count(0)
    expect(seen_by_alice.locator(".mention")).to_have_count(0)


def test_reaction_counts_are_shown_to_everyone_and_to_late_joiners(open_page, stream, alice, bob):
    reactor = open_page(stream, alice)
    watcher = open_page(stream, bob)
    like = reactor.get_by_role("button", name="Like")
    like.click()
    like.click()

    for page in (reactor, watcher):
        expect(page.locator("[data-reaction=like] [data-reaction-count]")).to_have_text("2")
    # Someone joining later gets the totals so far from stream_state.
    late = open_page(stream)
    expect(late.locator("[data-reaction=like] [data-reaction-count]")).to_have_text("2")
    expect(late.locator("[data-reaction=love] [data-reaction-count]")).to_have_text("")


def test_a_reaction_burst_stays_inside_the_panel(open_page, stream, alice):
    page = open_page(stream, alice)
    panel = page.locator("[data-live-comments]").bounding_box()
    page.get_by_role("button", name="Love").click()
    bubble = page.locator(".burst").first
    expect(bubble).to_have_count(1)
    page.wait_for_timeout(1000)  # well into the rise, where it is widest
    rights = page.evaluate(
        "[...document.querySelectorAll('.burst')].map((b) => b.getBoundingClientRect().right)"
    )
    assert rights and max(rights) <= panel["x"] + panel["width"], (rights, panel)
