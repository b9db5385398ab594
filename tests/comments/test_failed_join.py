"""A join that fails after its socket entered the room (Redis down while the backfill is
read) leaves no trace there: the socket's next join puts it in the room once, so it reads
each live comment once, and its room forgets it when it closes."""

import asyncio

import pytest
import redis

from comments import state
from comments.gateway import gateway
from tests.redis_servers import missing_binaries, running, use_layer_on

pytestmark = [
    pytest.mark.skipif(missing_binaries() is not None, reason=str(missing_binaries())),
    pytest.mark.django_db(transaction=True),
]


async def wait_subscribed(port: int, group: str) -> None:
    """Until a restarted server has the gateway's subscription to `group` back."""
    channel = f"asgi__group__{group}"
    client = redis.Redis(port=port)
    async with asyncio.timeout(10):
        while not dict(client.pubsub_numsub(channel))[channel.encode()]:
            await asyncio.sleep(0.05)


async def test_a_join_refused_while_redis_was_down_leaves_no_socket_in_the_room(
    settings, clients, alice, bob, stream
):
    with running() as servers:
        server = servers.server()
        settings.REDIS_URL = server.url
        use_layer_on(settings, server.url)
        state.reset_for_tests()
        try:
            author = await clients(alice)
            await author.join(stream)
            viewer = await clients(bob)

            server.kill()
            await viewer.send("join_stream", streamId=str(stream.id))
            refused = await viewer.receive_type("error")
            assert refused["code"] == "UNAVAILABLE"
            server.start()
            await wait_subscribed(server.port, f"stream.{stream.id}")

            await viewer.join(stream)  # the same socket, as the page joins again
            room = gateway().rooms[stream.id]
            assert room.socket_count == 2  # the author and the viewer, once each
            posted = await author.post(stream, "back on air")
            (comment,) = await viewer.live_comments(1)
            assert comment["id"] == posted["commentId"]
            await viewer.nothing_more(timeout=0.6)  # no second batch with it

            await viewer.close()
            assert room.socket_count == 1
        finally:
            # While its Redis still runs: a socket's close leaves its user's group there.
            await author.close()
            await gateway().close()
            state.reset_for_tests()
