"""Held for review across gateway processes: the decision reaches the author and every
gateway within a second, and a held comment outlives the gateway that received it."""

import asyncio
import signal
import uuid

import pytest

from moderation.models import ModerationAction
from streams import services as stream_services
from tests.clients import LiveClient
from tests.gateways import gateways

from .test_across_gateways import LIVE_BOUND, api, close_all

pytestmark = pytest.mark.django_db(transaction=True)


async def moderate(console, stream, action, comment_id):
    await console.send(
        "moderate",
        streamId=str(stream.id),
        action=action,
        commentId=comment_id,
        idempotencyKey=str(uuid.uuid4()),
    )


@pytest.fixture
def links_held(stream, moderator):
    stream_services.change_chat_settings(
        stream.id, {"hold_links": True}, actor=moderator, source=ModerationAction.Source.ADMIN
    )


@pytest.mark.usefixtures("links_held")
async def test_approval_reaches_the_author_and_viewers_on_every_gateway_within_a_second(
    two_gateways, alice, bob, moderator, stream
):
    first, second = two_gateways
    author = await LiveClient(alice, port=first.port).connect()
    await author.join(stream)
    viewers = [await LiveClient(bob, port=gateway.port).connect() for gateway in two_gateways]
    for viewer in viewers:
        await viewer.join(stream)
    console = await LiveClient(moderator, port=second.port).connect()
    await console.join(stream, moderate=True)
    try:
        ack = await author.post(stream, "my shop: shop.example")
        assert ack["status"] == "held"
        held = await console.receive_type("comment_held", timeout=LIVE_BOUND)
        assert held["comment"]["id"] == ack["commentId"]

        await moderate(console, stream, "approve", ack["commentId"])

        reviewed, *shown = await asyncio.gather(
            author.receive_type("comment_reviewed", timeout=LIVE_BOUND),
            *(viewer.live_comments(1, timeout=LIVE_BOUND) for viewer in viewers),
        )
        assert reviewed["decision"] == "approved"
        assert [[c["id"] for c in comments] for comments in shown] == [[ack["commentId"]]] * 2
    finally:
        await close_all(author, console, *viewers)


@pytest.mark.usefixtures("links_held")
async def test_a_comment_held_on_a_gateway_killed_since_is_approved_on_another(
    tmp_path, alice, bob, moderator, stream
):
    with gateways(tmp_path, 2) as (first, second):
        author = await LiveClient(alice, port=first.port).connect()
        await author.join(stream)
        ack = await author.post(stream, "see held.example")
        assert ack["status"] == "held"
        await author.close()
        first.stop(signal.SIGKILL)

        console = await LiveClient(moderator, port=second.port).connect()
        await console.send("join_stream", streamId=str(stream.id), moderate=True)
        state = await console.receive_type("moderation_state")
        assert [c["id"] for c in state["held"]] == [ack["commentId"]]
        viewer = await LiveClient(bob, port=second.port).connect()
        await viewer.join(stream)

        await moderate(console, stream, "approve", ack["commentId"])

        [shown] = await viewer.live_comments(1, timeout=LIVE_BOUND)
        assert shown["id"] == ack["commentId"]
        await close_all(console, viewer)


@pytest.mark.usefixtures("links_held")
async def test_held_comments_stay_out_of_the_rest_api(two_gateways, alice, stream):
    first, _ = two_gateways
    author = await LiveClient(alice, port=first.port).connect()
    await author.join(stream)
    ack = await author.post(stream, "and api.example")
    await author.close()

    status, page = await api(first, "GET", f"/api/streams/{stream.id}/comments/")

    assert (ack["status"], status) == ("held", 200)
    assert page["comments"] == []
