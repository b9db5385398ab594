"""Edit (SPEC §3 "Edit and delete"): the author, within 5 minutes, through the same content
rules; everyone gets comment_updated with editedAt; a held edit keeps the old text visible
until a moderator approves it. Over real WebSocket connections."""

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from comments.models import Comment
from moderation.models import BlockedTerm, ModerationAction
from streams import services as stream_services

pytestmark = pytest.mark.django_db(transaction=True)


async def edit(client, stream, comment_id, content, key=None):
    await client.send(
        "edit_comment",
        streamId=str(stream.id),
        commentId=str(comment_id),
        content=content,
        idempotencyKey=key or str(uuid.uuid4()),
    )
    return await client.receive_type("ack")


async def posted_and_seen(author, viewer, stream, content="helo world"):
    ack = await author.post(stream, content)
    await viewer.live_comments(1)
    return ack["commentId"]


async def test_an_edit_reaches_everyone_with_its_time_and_is_in_backfill(
    clients, alice, bob, stream
):
    author, viewer = await clients(alice), await clients(bob)
    await author.join(stream)
    await viewer.join(stream)
    comment_id = await posted_and_seen(author, viewer, stream)
    key = str(uuid.uuid4())

    ack = await edit(author, stream, comment_id, "  hello world  ", key)
    again = await edit(author, stream, comment_id, "  hello world  ", key)

    assert ack == again and (ack["status"], ack["commentId"]) == ("accepted", comment_id)
    updated = await viewer.receive_type("comment_updated")
    assert (updated["comment"]["content"], updated["comment"]["id"]) == ("hello world", comment_id)
    assert updated["comment"]["editedAt"] is not None
    _, backfill = await (await clients(bob)).join(stream)
    assert [c["content"] for c in backfill["comments"]] == ["hello world"]


async def test_only_the_author_edits_within_five_minutes_and_by_the_rules(
    clients, alice, bob, stream
):
    author, other = await clients(alice), await clients(bob)
    await author.join(stream)
    await other.join(stream)
    comment_id = (await author.post(stream, "first"))["commentId"]
    await BlockedTerm.objects.acreate(term="spoiler")

    assert (await edit(other, stream, comment_id, "mine now"))["code"] == "FORBIDDEN"
    assert (await edit(author, stream, comment_id, "   "))["code"] == "CONTENT_VIOLATION"
    assert (await edit(author, stream, comment_id, "a spoiler"))["code"] == "CONTENT_VIOLATION"
    assert (await edit(author, stream, 424242, "where?"))["code"] == "NOT_FOUND"
    await Comment.objects.filter(id=int(comment_id)).aupdate(
        created_at=timezone.now() - timedelta(minutes=5, seconds=1)
    )
    late = await edit(author, stream, comment_id, "too late")
    assert late["code"] == "FORBIDDEN"
    assert (await Comment.objects.aget(id=int(comment_id))).content == "first"


async def test_a_held_edit_keeps_the_old_text_until_a_moderator_approves_it(
    clients, alice, bob, moderator, stream
):
    author, viewer = await clients(alice), await clients(bob)
    await author.join(stream)
    await viewer.join(stream)
    comment_id = await posted_and_seen(author, viewer, stream, "my site soon")
    await sync_to_async(stream_services.change_chat_settings)(
        stream.id, {"hold_links": True}, actor=moderator, source=ModerationAction.Source.ADMIN
    )
    console = await clients(moderator)
    await console.join(stream, moderate=True)

    ack = await edit(author, stream, comment_id, "my site: shop.example")

    assert ack["status"] == "held"
    held = await console.receive_type("comment_held")
    assert (held["comment"]["content"], held["comment"]["heldReason"]) == (
        "my site: shop.example",
        "edit: link",
    )
    _, backfill = await (await clients(bob)).join(stream)
    assert [c["content"] for c in backfill["comments"]] == ["my site soon"]

    await console.send(
        "moderate",
        streamId=str(stream.id),
        action="approve",
        commentId=comment_id,
        idempotencyKey=str(uuid.uuid4()),
    )

    updated = await viewer.receive_type("comment_updated")
    assert updated["comment"]["content"] == "my site: shop.example"
    assert (await author.receive_type("comment_reviewed"))["decision"] == "approved"
    stored = await Comment.objects.aget(id=int(comment_id))
    assert (stored.content, stored.pending_content, stored.review) == (
        "my site: shop.example",
        "",
        "",
    )
