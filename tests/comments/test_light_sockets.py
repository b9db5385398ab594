"""Less memory per open socket (comments.server_internals): the lighter queue and flag
serve the servers as asyncio's do, a real server's sockets hold no handshake once
accepted, and only the tested versions, with LC_LIGHT_SOCKETS on, take that path (both
servers' gateways on either path: test_direct_writes)."""

import asyncio
import uuid

import pytest
import uvicorn
from django.conf import settings
from django.test import override_settings

from comments import server_internals
from comments.consumers import LiveConsumer
from comments.server_internals import Flag, OneReaderQueue, light_receive, reads_in_place
from loadbench.gateways import free_port
from tests.clients import LiveClient, frame_text, open_socket
from tests.comments.test_direct_writes import uvicorn_protocol

LIGHT_OFF = {**settings.LIVE_COMMENTS, "LIGHT_SOCKETS": False}


async def test_a_one_reader_queue_hands_out_in_order_what_it_was_given_then_waits():
    queue = OneReaderQueue(["connect"])
    queue.put_nowait("first")
    assert [await queue.get(), await queue.get()] == ["connect", "first"]
    assert queue.empty()

    reading = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not reading.done()
    queue.put_nowait("second")
    assert await reading == "second"


async def test_a_cancelled_read_leaves_the_queue_to_the_next_reader():
    queue = OneReaderQueue()
    reading = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading

    queue.put_nowait("after")
    assert await asyncio.wait_for(queue.get(), 1) == "after"


async def test_a_second_reader_at_once_is_refused():
    queue = OneReaderQueue()
    first = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await queue.get()
    queue.put_nowait("message")
    assert await first == "message"


async def test_a_flag_lets_waiters_through_once_set():
    flag = Flag(True)
    assert await flag.wait()
    flag.clear()
    waiters = [asyncio.ensure_future(flag.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(waiter.done() for waiter in waiters) and not flag.is_set()
    flag.set()
    assert await asyncio.gather(*waiters) == [True, True]


async def test_a_uvicorn_socket_keeps_what_was_queued_in_its_lighter_queue():
    protocol = uvicorn_protocol()
    protocol.queue.put_nowait({"type": "websocket.connect"})

    receive = light_receive(protocol.send, protocol.receive)

    # The version matrix runs this on other releases too: there, nothing changes.
    if server_internals._tested("uvicorn"):
        assert isinstance(protocol.queue, OneReaderQueue) and isinstance(protocol.writable, Flag)
    assert await receive() == {"type": "websocket.connect"}


async def test_only_the_tested_versions_and_the_setting_take_the_light_path(monkeypatch):
    with override_settings(LIVE_COMMENTS=LIGHT_OFF):
        protocol = uvicorn_protocol()
        light_receive(protocol.send, protocol.receive)
        assert isinstance(protocol.queue, asyncio.Queue)
        assert not reads_in_place(LiveConsumer())

    for server in ("uvicorn", "channels"):
        monkeypatch.setitem(server_internals.TESTED_VERSIONS, server, {server: "0.0.1"})
    server_internals._tested.cache_clear()
    try:
        protocol = uvicorn_protocol()
        light_receive(protocol.send, protocol.receive)
        assert isinstance(protocol.queue, asyncio.Queue)
        assert not reads_in_place(LiveConsumer())
    finally:
        server_internals._tested.cache_clear()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("light", [True, False], ids=["light", "plain"])
async def test_a_socket_is_served_the_same_on_either_path(alice, stream, light):
    # In this process, on Channels' communicator: the consumer reads in place or as
    # Channels does.
    live = settings.LIVE_COMMENTS if light else LIGHT_OFF
    with override_settings(LIVE_COMMENTS={**live, "DELIVERY_POLICY": ((0, 0.05, 1.0),)}):
        viewer = await LiveClient(None).connect()
        poster = await LiveClient(alice).connect()
        try:
            for client in (viewer, poster):
                await client.join(stream)
            key = str(uuid.uuid4())
            await poster.send(
                "post_comment", streamId=str(stream.id), content="hello", idempotencyKey=key
            )
            assert (await poster.receive_type("ack"))["status"] == "accepted"
            [comment] = await viewer.live_comments(1)
            assert comment["content"] == "hello"
        finally:
            for client in (viewer, poster):
                await client.close()


@pytest.mark.django_db(transaction=True)
async def test_a_real_uvicorn_socket_holds_no_handshake_once_accepted(stream):
    from livecomments.asgi import application

    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        socket = await open_socket(port)
        await socket.send(frame_text("join_stream", streamId=str(stream.id)))
        assert '"stream_state"' in await asyncio.wait_for(socket.recv(), 10)
        [protocol] = server.server_state.connections
        if server_internals._tested("uvicorn"):
            assert protocol.request is None and protocol.response is None
            assert isinstance(protocol.queue, OneReaderQueue)
        await socket.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
