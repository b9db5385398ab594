"""The seed's Step 9 flows over real WebSocket connections."""

import uuid

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings

from comments import state
from comments.models import Comment
from moderation.services import unhide_comment

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

    def write_prepared(self, frame) -> bool:
        raise ConnectionError("Attempt to send on a closed protocol")

    def outlet(self) -> None:
        return None

    async def send_frame(self, text: str) -> None:
        raise ConnectionError("Attempt to send on a closed protocol")


async def test_a_socket_failing_mid_fan_out_costs_the_others_nothing(clients, alice, bob, stream):
    from comments.gateway import gateway

    room = await gateway().room(stream.id)
    closing = ClosingSocket()
    for cohort in room.cohorts:  # ahead of the viewer, whichever cohort it joins
        cohort.sockets[closing] = None
    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)

    ack = await poster.post(stream, "still delivered")

    [comment] = await viewer.live_comments(1)
    assert comment["id"] == ack["commentId"]


async def delete(client, stream, comment_id, key=None):
    await client.send(
        "delete_comment",
        streamId=str(stream.id),
        commentId=str(comment_id),
        idempotencyKey=key or str(uuid.uuid4()),
    )
    return await client.receive_type("ack")


async def test_an_author_deletes_their_comment_for_everyone_once_by_key(
    clients, alice, bob, stream
):
    author = await clients(alice)
    await author.join(stream)
    viewer = await clients(bob)
    await viewer.join(stream)
    posted = await author.post(stream, "oops, wrong chat")
    await viewer.live_comments(1)
    key = str(uuid.uuid4())

    first = await delete(author, stream, posted["commentId"], key)
    again = await delete(author, stream, posted["commentId"], key)

    assert first == again
    assert (first["status"], first["commentId"]) == ("accepted", posted["commentId"])
    removed = await viewer.receive_type("comments_removed")
    assert removed["commentIds"] == [posted["commentId"]]
    _, backfill = await (await clients(bob)).join(stream)
    assert backfill["comments"] == []


async def test_only_the_author_deletes_and_a_deleted_comment_stays_deleted(
    clients, alice, bob, moderator, stream
):
    author = await clients(alice)
    await author.join(stream)
    posted = await author.post(stream, "mine")
    other = await clients(bob)
    await other.join(stream)

    refused = await delete(other, stream, posted["commentId"])
    await delete(author, stream, posted["commentId"])
    gone = await delete(author, stream, posted["commentId"])
    await sync_to_async(unhide_comment)(int(posted["commentId"]), source="admin")

    assert refused["code"] == "FORBIDDEN"
    assert gone["code"] == "NOT_FOUND"
    stored = await Comment.objects.aget(id=int(posted["commentId"]))
    assert stored.is_hidden and stored.deleted_at is not None


@pytest.mark.skipif(not settings.REDIS_URL, reason="the sweep's list lives in Redis")
async def test_a_published_comment_leaves_the_list_the_sweep_republishes(clients, alice, stream):
    poster = await clients(alice)
    await poster.join(stream)
    key = str(uuid.uuid4())
    ack = await poster.post(stream, "out", key=key)

    # Marked published before the ack: a sweep after a crash must not send it again.
    entry = f"{alice.id}:{key}:{ack['commentId']}"
    assert redis.Redis.from_url(settings.REDIS_URL).zscore("idem:unpublished", entry) is None
    assert await state.idempotency_store().claim_unpublished(0) == []
