"""Held for review (SPEC §3): a held comment is stored but shown to nobody until a moderator
approves it; the author is told, moderating sockets see it at once, and the decision
reaches both. Over real WebSocket connections."""

import pytest
from asgiref.sync import sync_to_async

from comments.models import Comment
from moderation import services
from moderation.holding import LINK
from moderation.models import ModerationAction
from streams import services as stream_services

from .test_moderating_sockets import act, moderating

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = ModerationAction.Source.ADMIN


async def hold_links(stream, moderator):
    await sync_to_async(stream_services.change_chat_settings)(
        stream.id, {"hold_links": True}, actor=moderator, source=ADMIN
    )


@pytest.mark.parametrize(
    "text",
    ["see https://spam.example/x", "buy at cheap-followers.com now", "www.shop.co.uk", "a.io"],
)
def test_links_are_found(text):
    assert LINK.search(text)


@pytest.mark.parametrize("text", ["e.g. this", "3.14 is pi", "me@home", "well...ok", "U.S.A"])
def test_what_is_not_a_link_is_not_held_as_one(text):
    assert not LINK.search(text)


async def test_a_held_comment_reaches_moderators_only_and_its_author_is_told(
    clients, alice, bob, moderator, stream
):
    await hold_links(stream, moderator)
    console, _ = await moderating(clients, moderator, stream)
    viewer = await clients(bob)
    await viewer.join(stream)
    author = await clients(alice)
    await author.join(stream)

    ack = await author.post(stream, "free stuff at spam.example")

    assert ack["status"] == "held" and ack["commentId"] is not None
    held = await console.receive_type("comment_held")
    assert held["comment"]["id"] == ack["commentId"]
    assert held["comment"]["heldReason"] == "link"
    await viewer.nothing_more(timeout=0.5)
    stored = await Comment.objects.aget(id=int(ack["commentId"]))
    assert (stored.is_hidden, stored.review) == (True, "held")
    _, backfill = await (await clients(bob)).join(stream)
    assert backfill["comments"] == []
    # A retry of the same key is told the same: held.
    assert await author.post(stream, "free stuff at spam.example", key=ack["idempotencyKey"]) == ack


async def test_the_held_queue_is_in_moderation_state_oldest_first(
    clients, alice, moderator, stream
):
    await hold_links(stream, moderator)
    author = await clients(alice)
    await author.join(stream)
    first = await author.post(stream, "one.example")
    second = await author.post(stream, "two.example")

    console = await clients(moderator)
    await console.send("join_stream", streamId=str(stream.id), moderate=True)
    state = await console.receive_type("moderation_state")

    assert [c["id"] for c in state["held"]] == [first["commentId"], second["commentId"]]
    assert {c["heldReason"] for c in state["held"]} == {"link"}


async def test_approving_puts_the_comment_in_the_feed_and_backfill_and_tells_the_author(
    clients, alice, bob, moderator, stream
):
    await hold_links(stream, moderator)
    author = await clients(alice)
    await author.join(stream)
    viewer = await clients(bob)
    await viewer.join(stream)
    console, _ = await moderating(clients, moderator, stream)
    other_console, _ = await moderating(clients, moderator, stream)
    ack = await author.post(stream, "my site: fine.example")

    approved = await act(console, stream, "approve", commentId=ack["commentId"])

    assert approved["status"] == "accepted"
    [live] = await viewer.live_comments(1)
    assert live["id"] == ack["commentId"]
    reviewed = await author.receive_type("comment_reviewed")
    assert reviewed == {
        "streamId": str(stream.id),
        "commentId": ack["commentId"],
        "decision": "approved",
    }
    assert (await other_console.receive_type("comment_reviewed"))["decision"] == "approved"
    _, backfill = await (await clients(bob)).join(stream)
    assert [c["id"] for c in backfill["comments"]] == [ack["commentId"]]


async def test_a_denied_comment_is_never_shown_not_even_by_unhiding(
    clients, alice, bob, moderator, stream
):
    await hold_links(stream, moderator)
    author = await clients(alice)
    await author.join(stream)
    console, _ = await moderating(clients, moderator, stream)
    ack = await author.post(stream, "bad.example")

    await act(console, stream, "deny", commentId=ack["commentId"], reason="scam")
    await sync_to_async(services.unhide_comment)(
        int(ack["commentId"]), actor=moderator, source=ADMIN
    )

    assert (await author.receive_type("comment_reviewed"))["decision"] == "denied"
    stored = await Comment.objects.aget(id=int(ack["commentId"]))
    assert (stored.is_hidden, stored.review) == (True, "denied")
    _, backfill = await (await clients(bob)).join(stream)
    assert backfill["comments"] == []
    kinds = [
        kind
        async for kind in ModerationAction.objects.filter(comment_id=stored.id).values_list(
            "kind", flat=True
        )
    ]
    assert kinds == ["deny"]


async def test_shield_mode_holds_a_users_first_comment_here_but_not_the_next_once_approved(
    clients, alice, moderator, stream, django_user_model
):
    await django_user_model.objects.filter(id=alice.id).aupdate(
        date_joined=stream.created_at.replace(year=2020)
    )
    await sync_to_async(stream_services.set_shield)(stream.id, True, actor=moderator, source=ADMIN)
    await sync_to_async(stream_services.change_chat_settings)(
        stream.id, {"slow_mode_seconds": 0}, actor=moderator, source=ADMIN
    )
    author = await clients(alice)
    await author.join(stream)
    console, _ = await moderating(clients, moderator, stream)

    first = await author.post(stream, "hello everyone")
    assert first["status"] == "held"
    held = await console.receive_type("comment_held")
    assert held["comment"]["heldReason"] == "first comment here (shield mode)"
    await act(console, stream, "approve", commentId=first["commentId"])

    assert (await author.post(stream, "thanks!"))["status"] == "accepted"


async def test_the_host_and_moderators_are_never_held(clients, host, moderator, stream):
    await hold_links(stream, moderator)
    for user in (host, moderator):
        client = await clients(user)
        await client.join(stream)
        assert (await client.post(stream, "see docs.example"))["status"] == "accepted"
