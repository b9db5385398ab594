"""Comments the channel layer loses between gateways reach viewers anyway, even when
nothing follows them."""

import pytest

from comments import relay as relay_module

pytestmark = pytest.mark.django_db(transaction=True)


def losing_the_first_comments(publish):
    """The layer's publish, except that the first comments message is lost on its way."""
    lost = []

    async def publish_losing_one(group, message):
        if message["type"] == "stream.comments" and not lost:
            lost.append(message)
            return
        await publish(group, message)

    return publish_losing_one, lost


async def test_the_last_comments_lost_on_the_way_are_resent(
    clients, alice, bob, stream, monkeypatch
):
    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)
    earlier = await poster.post(stream, "arrives")
    [arrived] = await viewer.live_comments(1)
    assert arrived["id"] == earlier["commentId"]
    publish, lost = losing_the_first_comments(relay_module.publish)
    monkeypatch.setattr(relay_module, "publish", publish)

    ack = await poster.post(stream, "lost on the way, then resent")

    # Nothing follows the lost message: the gateway's announcement of its last sequence
    # number is what tells the viewers' gateway that comments are missing.
    resent = await viewer.receive_type("comments_batch", timeout=5)
    assert lost, "the comments were lost"
    assert resent["comments"] == lost[0]["comments"]
    assert [c["id"] for c in resent["comments"]] == [ack["commentId"]]
    # Announced again each second until it ages out: asked for and sent only once here.
    await viewer.nothing_more(timeout=2.5)


async def test_comments_lost_before_others_show_viewers_a_gap(
    clients, alice, bob, stream, monkeypatch
):
    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)
    await poster.post(stream, "arrives")
    first = await viewer.receive_type("comments_batch")
    publish, lost = losing_the_first_comments(relay_module.publish)
    monkeypatch.setattr(relay_module, "publish", publish)

    await poster.post(stream, "lost on the way")
    after = await poster.post(stream, "arrives after the lost one")

    batch = await viewer.receive_type("comments_batch", timeout=5)
    assert lost, "the comments were lost"
    assert [c["id"] for c in batch["comments"]] == [after["commentId"]]
    # A number left out: the client resumes from the database (store.js: noteBatchSeq).
    assert batch["seq"] == first["seq"] + 2


async def test_comments_resent_for_others_are_not_batched_again(clients, alice, bob, stream):
    from comments.gateway import gateway
    from livecomments.events import publish

    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)
    await poster.post(stream, "once is enough")
    await viewer.live_comments(1)
    relay = gateway().relays[stream.id]

    # As if another gateway had lost every comments message of this one and asked for them.
    await publish(relay.group, {"type": "stream.resend", "gatewayId": relay.gateway_id, "after": 0})

    await viewer.nothing_more(timeout=1.5)
