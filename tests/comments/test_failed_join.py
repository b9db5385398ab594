"""A join that fails after its socket entered the room (Redis down while the backfill is
read) leaves no trace there: the socket's next join puts it in the room once, so it reads
each live comment once, its room forgets it when it closes, and it is not sent the room's
frames that came while it waited."""

import asyncio

import pytest
import redis

from comments import state
from comments.gateway import gateway
from livecomments.events import frame
from tests.redis_servers import missing_binaries, running, use_layer_on

pytestmark = [
    pytest.mark.skipif(missing_binaries() is not None, reason=str(missing_binaries())),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def own_redis(settings):
    """A redis-server of the test's own as the gateway's Redis and channel layer. Ask for it
    before `clients`, whose sockets and gateway are closed first, while it still runs."""
    with running() as servers:
        server = servers.server()
        settings.REDIS_URL = server.url
        use_layer_on(settings, server.url)
        state.reset_for_tests()
        try:
            yield server
        finally:
            state.reset_for_tests()


async def wait_subscribed(port: int, group: str) -> None:
    """Until a restarted server has the gateway's subscription to `group` back."""
    channel = f"asgi__group__{group}"
    client = redis.Redis(port=port)
    async with asyncio.timeout(10):
        while not dict(client.pubsub_numsub(channel))[channel.encode()]:
            await asyncio.sleep(0.05)


async def test_a_join_refused_while_redis_was_down_leaves_no_socket_in_the_room(
    own_redis, clients, alice, bob, stream
):
    author = await clients(alice)
    await author.join(stream)
    viewer = await clients(bob)

    own_redis.kill()
    await viewer.send("join_stream", streamId=str(stream.id))
    refused = await viewer.receive_type("error")
    assert refused["code"] == "UNAVAILABLE"
    own_redis.start()
    await wait_subscribed(own_redis.port, f"stream.{stream.id}")

    await viewer.join(stream)  # the same socket, as the page joins again
    room = gateway().rooms[stream.id]
    assert room.socket_count == 2  # the author and the viewer, once each
    posted = await author.post(stream, "back on air")
    (comment,) = await viewer.live_comments(1)
    assert comment["id"] == posted["commentId"]
    await viewer.nothing_more(timeout=0.6)  # no second batch with it

    await viewer.close()
    assert room.socket_count == 1


async def test_a_refused_join_is_not_sent_the_room_frames_that_came_while_it_waited(
    own_redis, clients, alice, bob, stream
):
    author = await clients(alice)
    viewer = await clients(bob)
    await author.join(stream)
    room = gateway().rooms[stream.id]
    try:
        with own_redis.frozen():
            await viewer.send("join_stream", streamId=str(stream.id))
            async with asyncio.timeout(5):  # in the room, reading its backfill
                while room.socket_count < 2:
                    await asyncio.sleep(0.01)
            # A live batch, which the joining socket holds until its backfill is out.
            await room.send_local(frame("comments_batch", {"comments": [], "isBackfill": False}))
            own_redis.kill()
        sent = [await viewer.receive()]
        while sent[-1]["type"] != "error":
            sent.append(await viewer.receive())
        assert sent[-1]["payload"]["code"] == "UNAVAILABLE"
        # Read, the batch would move the page's last seen comment past what its next join's
        # backfill starts after.
        assert [message["type"] for message in sent] == ["error"]
    finally:
        if own_redis.process is None:
            # The sockets' closes leave their users' groups there: once the gateway is back.
            own_redis.start()
            await wait_subscribed(own_redis.port, f"stream.{stream.id}")
