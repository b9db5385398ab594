"""Moderation on the stream page, in a real Chromium: badges, the ⋮ menu of moderators and
the host, and what a banned or timed-out viewer sees (SPEC §3 and §6)."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from moderation.models import ModerationAction
from moderation.services import ban_user
from tests.browser import PLAYWRIGHT_MISSING

from .test_stream_page import comment_item, post

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
expect = playwright_api.expect


def as_admin(service, *args, **kwargs):
    """Run a moderation service as the admin would, from another thread: Playwright's event
    loop runs in this one, and the service tells viewers through async_to_sync."""

    def run():
        try:
            return service(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as admin:
        return admin.submit(run).result()


def open_menu(page, author):
    button = page.get_by_role("button", name=f"Moderate {author}'s comment")
    button.click()
    menu = page.get_by_role("dialog", name=f"Moderate {author}'s comment")
    expect(menu).to_be_visible()
    return menu


def test_host_and_moderator_comments_carry_badges(open_page, stream, alice, host, moderator):
    reader = open_page(stream, alice)
    for user, text in ((host, "welcome, everyone"), (moderator, "be kind"), (alice, "hi!")):
        post(open_page(stream, user), text)

    expect(comment_item(reader, "welcome, everyone").get_by_role("img", name="Host")).to_have_text(
        "Host"
    )
    expect(comment_item(reader, "be kind").get_by_role("img", name="Moderator")).to_have_text("Mod")
    expect(comment_item(reader, "hi!")).to_have_count(1)
    expect(comment_item(reader, "hi!").locator(".role-badge")).to_have_count(0)


def test_a_viewers_menu_only_reports(open_page, stream, alice, bob):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    post(writer, "nothing to moderate")
    expect(comment_item(reader, "nothing to moderate")).to_have_count(1)

    expect(reader.get_by_role("button", name="Moderate alice's comment")).to_have_count(0)
    reader.get_by_role("button", name="Report alice's comment").click()
    menu = reader.get_by_role("dialog", name="Report alice's comment")
    expect(menu.get_by_role("button")).to_have_count(6)
    expect(menu.get_by_label("Reason (optional)")).to_be_hidden()
    expect(reader.get_by_role("link", name="Moderation console")).to_have_count(0)
    # Nothing to report on one's own comment: its menu edits or deletes it.
    writer.get_by_role("button", name="Edit or delete your comment").click()
    own_menu = writer.get_by_role("dialog", name="Edit or delete your comment")
    expect(own_menu.get_by_role("button")).to_have_text(["Edit", "Delete"])


def test_a_moderators_menu_pins_a_comment_for_another_viewer(open_page, stream, alice, moderator):
    viewer = open_page(stream, alice)
    mod = open_page(stream, moderator)
    expect(mod.get_by_role("link", name="Moderation console")).to_have_attribute(
        "href", f"/moderate/{stream.id}/"
    )
    post(viewer, "pin me please")

    menu = open_menu(mod, "alice")
    menu.get_by_label("Reason (optional)").fill("the schedule")
    menu.get_by_role("button", name="Pin alice's comment").click()

    expect(mod.locator("[data-moderation-status]")).to_have_text("Pinned alice's comment.")
    expect(viewer.locator("[data-pinned]")).to_contain_text("pin me please")
    expect(menu).to_be_hidden()
    logged = ModerationAction.objects.get(kind="pin")
    assert (logged.source, logged.reason) == ("socket", "the schedule")


def test_hide_from_the_menu_removes_the_comment_from_another_viewers_page(
    open_page, stream, alice, bob, host
):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    hosting = open_page(stream, host)
    post(writer, "big spoiler ahead")
    expect(comment_item(reader, "big spoiler ahead")).to_have_count(1)

    open_menu(hosting, "alice").get_by_role("button", name="Hide alice's comment").click()

    expect(hosting.locator("[data-moderation-status]")).to_have_text("Hid alice's comment.")
    for page in (reader, writer, hosting):
        expect(comment_item(page, "big spoiler ahead")).to_have_count(0)


def test_the_menu_works_from_the_keyboard_and_escape_gives_focus_back(
    open_page, stream, alice, moderator
):
    viewer = open_page(stream, alice)
    mod = open_page(stream, moderator)
    post(viewer, "keyboard only")
    expect(comment_item(mod, "keyboard only")).to_have_count(1)

    mod.locator("[data-comment-list]").focus()
    mod.keyboard.press("ArrowUp")  # the newest comment's last button: its ⋮
    button = mod.get_by_role("button", name="Moderate alice's comment")
    expect(button).to_be_focused()
    mod.keyboard.press("Enter")
    menu = mod.get_by_role("dialog", name="Moderate alice's comment")
    expect(menu.get_by_role("button", name="Pin alice's comment")).to_be_focused()
    mod.keyboard.press("Escape")

    expect(menu).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")


def test_a_timed_out_viewer_sees_until_when_and_can_post_again_by_itself(
    open_page, stream, alice, moderator
):
    page = open_page(stream, alice)
    field = page.get_by_label("Your comment", exact=True)
    expect(field).to_be_enabled()

    as_admin(
        ban_user,
        alice,
        stream=stream,
        expires_at=timezone.now() + timedelta(seconds=4),
        reason="calm down",
        actor=moderator,
        source=ModerationAction.Source.ADMIN,
    )

    restriction = page.locator("[data-restriction]")
    # The time as the viewer's locale writes it: 14:32, or 02:32 PM.
    expect(restriction).to_have_text(
        re.compile(r"^Timed out until \d\d:\d\d( [AP]M)? — calm down$")
    )
    expect(field).to_be_disabled()
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    expect(page.get_by_role("button", name="Like")).to_be_disabled()
    # The end comes by itself: no reload, no new frame needed.
    expect(field).to_be_enabled()
    expect(restriction).to_be_hidden()
    expect(page.get_by_role("button", name="Like")).to_be_enabled()
    post(page, "back again")
    expect(comment_item(page, "back again").locator(".comment-status")).to_have_count(0)


def test_a_banned_viewer_reloads_reads_the_chat_and_sees_the_ban(open_page, stream, alice, bob):
    post(open_page(stream, bob), "still readable")
    as_admin(ban_user, alice, stream=stream, reason="spam", source=ModerationAction.Source.ADMIN)

    page = open_page(stream, alice)  # joins: the fixture waits for "Live"

    expect(comment_item(page, "still readable")).to_have_count(1)
    expect(page.locator("[data-restriction]")).to_have_text(
        "You are banned from this stream. — spam"
    )
    expect(page.get_by_label("Your comment", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Like")).to_be_disabled()
