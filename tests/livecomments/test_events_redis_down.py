"""A process's fan-out on real Redis servers: it hears every group it listens on, however
its first listens race, and listens again once Redis is back (a Sentinel failover or a
lost shard must not leave a gateway deaf to a stream)."""

import asyncio

import pytest
import redis
from channels.layers import get_channel_layer

from livecomments.events import FanOut, publish
from tests.redis_servers import missing_binaries, running, use_layer_on

pytestmark = pytest.mark.skipif(missing_binaries() is not None, reason=str(missing_binaries()))


async def heard_all(groups: list[str], heard: list[dict]) -> bool:
    for _ in range(100):
        for group in groups:
            await publish(group, {"type": "stream.frame", "frame": "{}"})
        if {m["group"] for m in heard} >= set(groups):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_first_listens_at_once_on_two_shards_hear_both_groups(settings):
    with running() as servers:
        use_layer_on(settings, servers.server().url, servers.server().url)
        fanout = FanOut()
        heard: list[dict] = []

        async def listener(message: dict) -> None:
            heard.append(message)

        groups = [f"stream.{n}" for n in range(1, 9)]  # over both shards
        try:
            await asyncio.gather(*(fanout.listen(group, listener) for group in groups))
            assert await heard_all(groups, heard)
        finally:
            await fanout.close()
            await get_channel_layer().flush()


async def test_a_listen_refused_while_redis_was_down_is_made_again(settings):
    with running() as servers:
        server = servers.server()
        use_layer_on(settings, server.url)
        fanout = FanOut()
        heard: list[dict] = []

        async def listener(message: dict) -> None:
            heard.append(message)

        try:
            server.kill()
            with pytest.raises(redis.ConnectionError):
                await fanout.listen("stream.2", listener)
            server.start()
            await fanout.listen("stream.2", listener)
            assert await heard_all(["stream.2"], heard)
        finally:
            await fanout.close()
            await get_channel_layer().flush()


async def test_a_second_listener_is_not_listening_before_the_group_is_joined(settings):
    with running() as servers:
        server = servers.server()
        use_layer_on(settings, server.url)
        fanout = FanOut()
        heard: dict[str, list[dict]] = {"first": [], "second": []}

        def listener(name):
            async def hear(message: dict) -> None:
                heard[name].append(message)

            return hear

        try:
            with server.frozen():
                first = asyncio.create_task(fanout.listen("stream.3", listener("first")))
                await asyncio.sleep(0.1)  # the first listen waits on Redis
                second = asyncio.create_task(fanout.listen("stream.3", listener("second")))
                await asyncio.sleep(0.1)
                # Done now, it would have said "listening" while nothing was subscribed.
                assert not second.done()
            await asyncio.gather(first, second)
            await publish("stream.3", {"type": "stream.frame", "frame": "{}"})
            async with asyncio.timeout(5):
                while not (heard["first"] and heard["second"]):
                    await asyncio.sleep(0.02)
        finally:
            await fanout.close()
            await get_channel_layer().flush()


async def test_a_listen_failing_after_its_listener_left_raises_the_redis_error(settings):
    with running() as servers:
        server = servers.server()
        use_layer_on(settings, server.url)
        fanout = FanOut()

        async def listener(message: dict) -> None:
            pass

        try:
            with server.frozen():
                listening = asyncio.create_task(fanout.listen("stream.4", listener))
                await asyncio.sleep(0.1)  # joining the group waits on Redis
                # A socket that closes at once: its listener leaves before the join is done.
                leaving = asyncio.create_task(fanout.unlisten("stream.4", listener))
                await asyncio.sleep(0.1)
                server.kill()
            with pytest.raises(redis.ConnectionError):
                await listening
            with pytest.raises(redis.ConnectionError):
                await leaving
        finally:
            await fanout.close()


@pytest.mark.django_db(transaction=True)
async def test_a_join_waits_for_the_room_another_join_is_opening(settings, stream):
    from comments.gateway import Gateway

    with running() as servers:
        server = servers.server()
        use_layer_on(settings, server.url)
        gateway = Gateway()
        try:
            with server.frozen():
                first = asyncio.create_task(gateway.room(stream.id))
                await asyncio.sleep(0.1)  # the first join opens the room: it waits on Redis
                second = asyncio.create_task(gateway.room(stream.id))
                await asyncio.sleep(0.1)
                assert not second.done()
            assert await first is await second
        finally:
            await gateway.close()
            await get_channel_layer().flush()
