"""Editing and deleting one's own comments on the stream page, in a real Chromium."""

import pytest

from comments.models import Comment
from tests.browser import PLAYWRIGHT_MISSING
from tests.pages.test_stream_page import comment_item, post

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
expect = playwright_api.expect


def test_the_author_edits_a_comment_inline_and_everyone_sees_it_edited(
    open_page, stream, alice, bob
):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    post(writer, "helo everyone")
    expect(comment_item(reader, "helo everyone")).to_have_count(1)
    expect(comment_item(writer, "helo everyone").locator(".comment-status")).to_have_count(0)

    comment_item(writer, "helo everyone").get_by_role(
        "button", name="Edit or delete your comment"
    ).click()
    writer.get_by_role("button", name="Edit your comment", exact=True).click()
    editor = writer.get_by_label("Edit your comment (Enter saves, Escape cancels)")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("helo everyone")
    editor.fill("hello everyone")
    editor.press("Enter")

    for page in (writer, reader):
        edited = comment_item(page, "hello everyone")
        expect(edited).to_have_count(1)
        expect(edited.locator(".comment-edited")).to_have_text("(edited)")
        assert edited.locator(".comment-edited").get_attribute("title").startswith("Edited ")
    expect(writer.locator("[data-moderation-status]")).to_have_text("Your comment was edited.")
    assert Comment.objects.get().content == "hello everyone"


def test_escape_cancels_an_edit(open_page, stream, alice):
    writer = open_page(stream, alice)
    post(writer, "keep me as I am")
    mine = comment_item(writer, "keep me as I am")
    expect(mine.locator(".comment-status")).to_have_count(0)
    mine.get_by_role("button", name="Edit or delete your comment").click()
    writer.get_by_role("button", name="Edit your comment", exact=True).click()
    editor = writer.get_by_label("Edit your comment (Enter saves, Escape cancels)")
    editor.fill("changed my mind")
    editor.press("Escape")

    expect(editor).to_have_count(0)
    expect(mine.locator(".comment-content")).to_have_text("keep me as I am")
    expect(mine.get_by_role("button", name="Edit or delete your comment")).to_be_focused()


def test_the_author_deletes_a_comment_after_confirming(open_page, stream, alice, bob):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    post(writer, "posted by mistake")
    expect(comment_item(reader, "posted by mistake")).to_have_count(1)
    mine = comment_item(writer, "posted by mistake")
    expect(mine.locator(".comment-status")).to_have_count(0)

    mine.get_by_role("button", name="Edit or delete your comment").click()
    writer.get_by_role("button", name="Delete your comment", exact=True).click()
    # The confirm step: nothing is deleted yet, and Cancel has the focus.
    expect(writer.get_by_role("button", name="Cancel")).to_be_focused()
    expect(writer.locator("[data-moderation-menu]")).to_contain_text(
        "Delete your comment for everyone?"
    )
    writer.get_by_role("button", name="Yes, delete your comment").click()

    for page in (writer, reader):
        expect(comment_item(page, "posted by mistake")).to_have_count(0)
    expect(writer.locator("[data-moderation-status]")).to_have_text("Your comment was deleted.")


def test_others_comments_offer_no_edit_or_delete(open_page, stream, alice, bob):
    writer = open_page(stream, alice)
    reader = open_page(stream, bob)
    post(writer, "alice's words")
    theirs = comment_item(reader, "alice's words")
    expect(theirs).to_have_count(1)
    theirs.get_by_role("button", name="Report alice's comment").click()
    expect(reader.get_by_role("button", name="Edit your comment", exact=True)).to_have_count(0)
    expect(reader.get_by_role("button", name="Delete your comment", exact=True)).to_have_count(0)
