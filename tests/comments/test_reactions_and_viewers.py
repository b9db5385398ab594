"""Reactions aggregated per interval, and viewer counts that add up and heal."""

import asyncio

import pytest
from django.conf import settings

from comments.models import ReactionTotal
from comments.state.viewers import MemoryViewerRegistry, RedisViewerRegistry

pytestmark = pytest.mark.django_db(transaction=True)


async def test_reactions_arrive_as_one_batch_per_interval(clients, alice, bob, stream):
    reactor = await clients(alice)
    viewer = await clients(bob)
    await reactor.join(stream)
    await viewer.join(stream)
    for reaction in ("like", "like", "love"):
        await reactor.send("react", streamId=str(stream.id), reactionType=reaction)

    batch = await viewer.receive_type("reactions_batch", timeout=3)

    assert batch["streamId"] == str(stream.id)
    assert batch["counts"] == {"like": 2, "love": 1}
    assert isinstance(batch["timestamp"], int)


async def test_reactions_are_never_acked(clients, alice, stream):
    reactor = await clients(alice)
    await reactor.join(stream)
    await reactor.send("react", streamId=str(stream.id), reactionType="wow")
    batch = await reactor.receive_type("reactions_batch", timeout=3)
    assert batch["counts"] == {"wow": 1}
    await reactor.nothing_more(timeout=0.3)


async def test_a_flood_from_one_user_is_capped_silently(clients, alice, bob, stream):
    flooder = await clients(alice)
    viewer = await clients(bob)
    await flooder.join(stream)
    await viewer.join(stream)
    for _ in range(50):
        await flooder.send("react", streamId=str(stream.id), reactionType="haha")

    counted = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 1.5
    while loop.time() < deadline:
        if await viewer.communicator.receive_nothing(timeout=deadline - loop.time()):
            break
        message = await viewer.receive()
        if message["type"] == "reactions_batch":
            counted += message["payload"]["counts"].get("haha", 0)
    assert 0 < counted < 50


async def test_running_totals_are_kept(clients, alice, stream):
    reactor = await clients(alice)
    await reactor.join(stream)
    for _ in range(3):
        await reactor.send("react", streamId=str(stream.id), reactionType="sad")
    for _ in range(50):
        total = await ReactionTotal.objects.filter(stream=stream, reaction_type="sad").afirst()
        if total is not None:
            break
        await asyncio.sleep(0.1)
    assert total is not None and total.count == 3


async def test_viewer_count_follows_joins_and_leaves(clients, alice, bob, charlie, stream):
    first = await clients(alice)
    await first.join(stream)
    assert (await first.receive_type("viewer_count", timeout=3))["count"] == 1
    second = await clients(bob)
    state_payload, _ = await second.join(stream)
    assert state_payload["viewerCount"] == 2
    assert (await first.receive_type("viewer_count", timeout=3))["count"] == 2

    await second.close()
    assert (await first.receive_type("viewer_count", timeout=3))["count"] == 1


@pytest.mark.skipif(not settings.REDIS_URL, reason="counts across gateways live in Redis")
async def test_a_silent_gateway_stops_counting():
    registry = RedisViewerRegistry(gateway_timeout_ms=300)
    await registry.report("gateway-a", {7: 3})
    await registry.report("gateway-b", {7: 4})
    assert await registry.totals([7]) == {7: 7}

    await asyncio.sleep(0.4)
    await registry.report("gateway-b", {})  # b heartbeats; a has died

    assert await registry.totals([7]) == {7: 4}


async def test_memory_registry_counts_one_process():
    registry = MemoryViewerRegistry()
    await registry.report("only", {1: 2, 2: 0})
    assert await registry.totals([1, 2]) == {1: 2, 2: 0}


async def test_a_join_is_told_the_streams_reactions_so_far(clients, bob, stream):
    await ReactionTotal.objects.acreate(stream=stream, reaction_type="love", count=7)

    state, _ = await (await clients(bob)).join(stream)

    assert state["reactionTotals"] == {"love": 7}


async def test_totals_are_stored_before_anyone_is_sent_them(clients, alice, bob, stream):
    reactor = await clients(alice)
    await reactor.join(stream)
    for _ in range(2):
        await reactor.send("react", streamId=str(stream.id), reactionType="like")
    assert (await reactor.receive_type("reactions_batch", timeout=3))["counts"] == {"like": 2}

    # Stored already, so a gateway whose room starts later reads them; and a join here
    # gets what its room has sent, without waiting for the database.
    stored = await ReactionTotal.objects.aget(stream=stream, comment=None, reaction_type="like")
    assert stored.count == 2
    state, _ = await (await clients(bob)).join(stream)
    assert state["reactionTotals"] == {"like": 2}


async def test_a_joiner_counts_each_reaction_once(clients, alice, bob, stream):
    reactor = await clients(alice)
    await reactor.join(stream)
    # Joins land before, between and after the ticks that publish and send the reactions.
    joiners = []
    for _ in range(8):
        await reactor.send("react", streamId=str(stream.id), reactionType="wow")
        joiner = await clients(bob)
        state, _ = await joiner.join(stream)
        joiners.append((joiner, state["reactionTotals"].get("wow", 0)))
        await asyncio.sleep(0.15)

    for joiner, so_far in joiners:
        seen = so_far
        while not await joiner.communicator.receive_nothing(timeout=1.2):
            message = await joiner.receive()
            if message["type"] == "reactions_batch":
                seen += message["payload"]["counts"].get("wow", 0)
        assert seen == 8
