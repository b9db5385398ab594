"""A batch the channel layer loses reaches viewers anyway, even when no batch follows it."""

import json

import pytest

from comments import gateway as gateway_module

pytestmark = pytest.mark.django_db(transaction=True)


def losing_the_first_batch(publish):
    """The layer's publish, except that the first comments batch is lost on its way."""
    lost = []

    async def publish_losing_one(group, message):
        if message["type"] == "stream.frame" and "seq" in message and not lost:
            lost.append(message)
            return
        await publish(group, message)

    return publish_losing_one, lost




async def test_the_last_batch_lost_on_the_way_is_resent(clients, alice, bob, stream, monkeypatch):
    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)
    earlier = await poster.post(stream, "arrives")
    [arrived] = await viewer.live_comments(1)
    assert arrived["id"] == earlier["commentId"]
    publish, lost = losing_the_first_batch(gateway_module.publish)
    monkeypatch.setattr(gateway_module, "publish", publish)

    ack = await poster.post(stream, "lost on the way, then resent")

    # Nothing follows the lost batch: the gateway's announcement of its last sequence
    # number is what tells the viewers' gateway that a batch is missing.
    resent = await viewer.receive_type("comments_batch", timeout=5)
    assert lost, "the batch was lost"
    # The lost batch itself, as it was first published: its number and its comments.
    assert resent == json.loads(lost[0]["frame"])["payload"]
    assert [c["id"] for c in resent["comments"]] == [ack["commentId"]]
    # Announced again each second until it ages out: asked for and sent only once here.
    await viewer.nothing_more(timeout=2.5)


async def test_batches_resent_for_others_are_not_relayed_again(clients, alice, bob, stream):
    from comments.fanout import publish
    from comments.gateway import gateway

    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)
    await poster.post(stream, "once is enough")
    await viewer.live_comments(1)
    room = gateway().rooms[stream.id]

    # As if another gateway had lost every batch of this one and asked for them.
    await publish(room.group, {"type": "stream.resend", "gatewayId": room.gateway_id, "after": 0})

    await viewer.nothing_more(timeout=1.5)
