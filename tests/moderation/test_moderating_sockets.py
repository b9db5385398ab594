"""Moderating sockets and the `moderate` message (SPEC §3), over real WebSocket connections:
who may open one, what it is sent on join, the whole feed unsampled, and each action
through the same services as the admin, acked once by key."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from moderation.models import Ban, ModerationAction
from tests.clients import LiveClient

from .conftest import add_comment
from .test_across_gateways import LIVE_BOUND, close_all

pytestmark = pytest.mark.django_db(transaction=True)


async def moderating(clients, user, stream):
    client = await clients(user)
    state = await client.join(stream, moderate=True)
    return client, state


async def act(client, stream, action, key=None, **fields):
    await client.send(
        "moderate",
        streamId=str(stream.id),
        action=action,
        idempotencyKey=key or str(uuid.uuid4()),
        **fields,
    )
    return await client.receive_type("ack")


async def test_only_moderators_and_the_host_open_a_moderating_socket(
    clients, alice, host, moderator, stream
):
    viewer = await clients(alice)
    await viewer.send("join_stream", streamId=str(stream.id), moderate=True)

    error = await viewer.receive_type("error")

    assert error["code"] == "FORBIDDEN"
    assert (await viewer.post(stream, "am I in?"))["code"] == "NOT_JOINED"
    for user in (moderator, host):
        client = await clients(user)
        await client.send("join_stream", streamId=str(stream.id), moderate=True)
        state = await client.receive_type("stream_state")
        told = await client.receive_type("moderation_state")
        assert told == {
            "streamId": str(stream.id),
            "held": [],
            "reports": [],
            "settings": state["settings"],
        }
        assert (await client.receive_type("comments_batch"))["isBackfill"] is True


async def test_a_hide_from_a_moderating_socket_reaches_viewers_and_is_logged(
    clients, alice, bob, moderator, stream
):
    comment = await sync_to_async(add_comment)(stream, alice, "spoilers!")
    viewer = await clients(bob)
    await viewer.join(stream)
    console, _ = await moderating(clients, moderator, stream)

    ack = await act(console, stream, "hide", commentId=str(comment.id), reason="spoilers")

    assert ack["status"] == "accepted"
    assert ack["commentId"] == str(comment.id)
    assert (await viewer.receive_type("comments_removed"))["commentIds"] == [str(comment.id)]
    logged = await ModerationAction.objects.aget(comment_id=comment.id)
    assert (logged.kind, logged.source, logged.actor_id, logged.reason) == (
        "hide",
        "socket",
        moderator.id,
        "spoilers",
    )


async def test_a_moderate_message_is_acked_once_by_key(clients, alice, moderator, stream):
    console, _ = await moderating(clients, moderator, stream)
    key = str(uuid.uuid4())

    first = await act(console, stream, "timeout", key, userId=str(alice.id), durationSeconds=60)
    again = await act(console, stream, "timeout", key, userId=str(alice.id), durationSeconds=60)

    assert first == again
    assert first["status"] == "accepted" and first["commentId"] is None
    assert await Ban.objects.filter(user=alice).acount() == 1
    assert await ModerationAction.objects.filter(kind="ban").acount() == 1


async def test_a_timeout_from_a_socket_tells_the_user_until_when(clients, alice, moderator, stream):
    user = await clients(alice)
    await user.join(stream)
    console, _ = await moderating(clients, moderator, stream)

    ack = await act(
        console, stream, "timeout", userId=str(alice.id), durationSeconds=600, reason="calm"
    )

    assert ack["status"] == "accepted"
    changed = await user.receive_type("restriction_changed")
    assert (changed["restriction"]["reason"], changed["restriction"]["until"] is not None) == (
        "calm",
        True,
    )
    ban = await Ban.objects.aget(user=alice)
    assert ban.stream_id == stream.id


async def test_settings_and_shield_from_a_socket_reach_viewers(clients, bob, moderator, stream):
    viewer = await clients(bob)
    await viewer.join(stream)
    console, _ = await moderating(clients, moderator, stream)

    await act(console, stream, "settings", settings={"slowModeSeconds": 10, "locked": True})
    changed = await viewer.receive_type("stream_settings")
    await act(console, stream, "shield_on")
    shielded = await viewer.receive_type("stream_settings")
    await act(console, stream, "shield_off")
    restored = await viewer.receive_type("stream_settings")

    assert (changed["settings"]["slowModeSeconds"], changed["settings"]["locked"]) == (10, True)
    assert shielded["settings"]["shield"] is True
    assert restored["settings"] == changed["settings"]


async def test_moderating_needs_a_moderating_socket_and_a_real_target(
    clients, alice, bob, moderator, stream
):
    viewer = await clients(bob)
    await viewer.join(stream)
    plain = await clients(moderator)
    await plain.join(stream)  # a moderator, but joined as a viewer
    console, _ = await moderating(clients, moderator, stream)

    refused = await act(viewer, stream, "ban", userId=str(alice.id))
    not_moderating = await act(plain, stream, "ban", userId=str(alice.id))
    unknown_comment = await act(console, stream, "pin", commentId="123456789")
    unknown_user = await act(console, stream, "ban", userId="987654")

    assert (refused["status"], refused["code"]) == ("rejected", "FORBIDDEN")
    assert not_moderating["code"] == "FORBIDDEN"
    assert unknown_comment["code"] == "NOT_FOUND"
    assert unknown_user["code"] == "NOT_FOUND"
    assert not await Ban.objects.aexists()


async def test_a_moderating_socket_reads_the_whole_feed_while_viewers_get_a_sample(
    clients, alice, bob, moderator, stream, settings
):
    # One viewer already puts the stream in a tier that delivers a fifth of the comments.
    settings.LIVE_COMMENTS = {**settings.LIVE_COMMENTS, "DELIVERY_POLICY": ((0, 0.3, 0.2),)}
    viewer = await clients(bob)
    await viewer.join(stream)
    console, _ = await moderating(clients, moderator, stream)
    poster = await clients(alice)
    await poster.join(stream)

    acks = [await poster.post(stream, f"comment {n}") for n in range(5)]

    everything = await console.live_comments(5)
    assert [c["id"] for c in everything] == [ack["commentId"] for ack in acks]
    sampled = await viewer.receive_type("comments_batch")
    assert len(sampled["comments"]) < 5


async def test_a_moderate_message_from_one_gateway_reaches_viewers_on_the_other(
    two_gateways, alice, bob, moderator, stream
):
    comment = await sync_to_async(add_comment)(stream, alice, "off topic")
    first, second = two_gateways
    viewer = await LiveClient(bob, port=first.port).connect()
    await viewer.join(stream)
    console = await LiveClient(moderator, port=second.port).connect()
    await console.join(stream, moderate=True)
    try:
        await console.send(
            "moderate",
            streamId=str(stream.id),
            action="pin",
            commentId=str(comment.id),
            idempotencyKey=str(uuid.uuid4()),
        )

        updated = await viewer.receive_type("comment_updated", timeout=LIVE_BOUND)
        assert updated["comment"]["isPinned"] is True
    finally:
        await close_all(viewer, console)
