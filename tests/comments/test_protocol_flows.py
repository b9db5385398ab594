"""The seed's Step 9 flows over real WebSocket connections."""

import pytest

from comments.models import Comment

pytestmark = pytest.mark.django_db(transaction=True)


async def test_join_sends_stream_state_then_backfill(clients, alice, stream):
    client = await clients(alice)
    state, backfill = await client.join(stream)
    assert state["streamId"] == str(stream.id)
    assert state["title"] == "Launch day"
    assert state["status"] == "live"
    assert state["pinnedComments"] == []
    assert backfill == {"streamId": str(stream.id), "comments": [], "isBackfill": True}


async def test_posted_comment_is_acked_stored_and_broadcast(clients, alice, bob, stream):
    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)

    ack = await poster.post(stream, "  hello world  ")

    assert ack["status"] == "accepted"
    stored = await Comment.objects.aget(id=int(ack["commentId"]))
    assert stored.content == "hello world"
    [comment] = await viewer.live_comments(1)
    assert comment["id"] == ack["commentId"]
    assert comment["content"] == "hello world"
    assert comment["username"] == "alice"
    assert comment["userId"] == str(alice.id)
    assert comment["isHighlighted"] is False
    assert comment["authorRole"] == "viewer"
    assert isinstance(comment["metadata"]["receivedAt"], int)


async def test_the_host_and_moderators_comments_carry_their_badge_live_and_in_backfill(
    clients, host, moderator, bob, stream
):
    viewer = await clients(bob)
    await viewer.join(stream)
    for user in (host, moderator):
        client = await clients(user)
        await client.join(stream)
        await client.post(stream, f"{user.username} here")

    live = await viewer.live_comments(2)
    _, backfill = await (await clients(bob)).join(stream)

    for comments in (live, backfill["comments"]):
        roles = {c["username"]: (c["authorRole"], c["isHighlighted"]) for c in comments}
        assert roles == {"hannah": ("host", True), "mona": ("moderator", True)}


async def test_resubmitted_key_returns_the_same_comment(clients, alice, bob, stream):
    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)

    first = await poster.post(stream, "only once", key="6f1c1f43-3d8e-4d53-9a32-2f0d2e2f8a11")
    again = await poster.post(stream, "only once", key="6f1c1f43-3d8e-4d53-9a32-2f0d2e2f8a11")

    assert again == first
    assert await Comment.objects.filter(stream=stream).acount() == 1
    assert len(await viewer.live_comments(1)) == 1
    await viewer.nothing_more()


class ClosingSocket:
    """A socket whose connection went away before its disconnect was handled."""

    def __hash__(self) -> int:
        # Hash 0 takes a small set's first slot: the fan-out reaches this socket first.
        return 0

    async def send_frame(self, text: str) -> None:
        raise ConnectionError("Attempt to send on a closed protocol")


async def test_a_socket_failing_mid_fan_out_costs_the_others_nothing(clients, alice, bob, stream):
    from comments.gateway import gateway

    room = await gateway().room(stream.id)
    closing = ClosingSocket()
    for cohort in room.cohorts:  # ahead of the viewer, whichever cohort it joins
        cohort.sockets.add(closing)
    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)

    ack = await poster.post(stream, "still delivered")

    [comment] = await viewer.live_comments(1)
    assert comment["id"] == ack["commentId"]
