"""A room's frames framed once and written straight to each socket (comments.server_internals):
the bytes a client parses are the text sent, on both servers, and any other version of a
server, or LC_DIRECT_WRITES=0, takes the plain ASGI path. The gateways here also run with
and without the light sockets (LC_LIGHT_SOCKETS, test_light_sockets)."""

import asyncio
import contextlib
import re
import urllib.request
import uuid

import pytest
from django.conf import settings
from django.test import override_settings
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from comments import server_internals
from comments.limits import SocketLimits, UnlimitedSend
from comments.server_internals import PreparedFrame, direct_writer, write_uvicorn
from livecomments.servers import SERVERS
from loadbench.gateways import UNLIMITED_RATE
from tests.clients import LiveClient
from tests.gateways import gateways


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 300_000])
def test_a_prepared_frame_parses_as_the_text_it_carries(size):
    text = ("é🎉x" * size)[:size]  # multi-byte: the length is counted in bytes
    client = ClientProtocol(parse_uri("ws://example.test/"), state=State.OPEN, max_size=None)

    client.receive_data(PreparedFrame.of(text).wire)

    [received] = client.events_received()
    assert received.opcode is Opcode.TEXT and received.fin
    assert received.data.decode() == text


def uvicorn_protocol(app=None) -> WebSocketsSansIOProtocol:
    config = Config(app=app, ws="websockets-sansio")
    config.load()
    return WebSocketsSansIOProtocol(config, ServerState(), app_state={})


async def test_only_the_tested_versions_get_a_direct_writer(monkeypatch):
    protocol = uvicorn_protocol()
    # The version matrix runs this on other releases too: there, the plain path.
    tested = server_internals._tested("uvicorn")
    assert direct_writer(protocol) is (write_uvicorn if tested else None)

    monkeypatch.setitem(server_internals.TESTED_VERSIONS, "uvicorn", {"uvicorn": "0.0.1"})
    server_internals._tested.cache_clear()
    try:
        assert direct_writer(protocol) is None
    finally:
        server_internals._tested.cache_clear()


async def test_a_socket_that_negotiated_compression_takes_the_plain_path():
    offered = ClientProtocol(
        parse_uri("ws://127.0.0.1/ws/live/"), extensions=[ClientPerMessageDeflateFactory()]
    )
    compressed = uvicorn_protocol()  # uvicorn's default: permessage-deflate on
    compressed.conn.accept(offered.connect())
    plain = uvicorn_protocol()
    plain.conn.accept(ClientProtocol(parse_uri("ws://127.0.0.1/ws/live/")).connect())

    assert compressed.conn.extensions and not plain.conn.extensions
    assert direct_writer(compressed) is None
    assert direct_writer(plain) is (write_uvicorn if server_internals._tested("uvicorn") else None)


only_the_tested_uvicorn = pytest.mark.skipif(
    not server_internals._tested("uvicorn"),
    reason="only the tested uvicorn release is written to directly (the version matrix)",
)


@contextlib.asynccontextmanager
async def one_uvicorn_socket():
    """A real uvicorn socket on a real TCP connection, accepted by an application behind our
    `SocketLimits`: the websockets client, uvicorn's protocol, and the application's `send`
    (the bound through which the gateway's frames go)."""
    sends: list[UnlimitedSend] = []

    async def app(scope, receive, send):
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        sends.append(send)
        await asyncio.Event().wait()  # open until the server is closed

    opened: list[WebSocketsSansIOProtocol] = []

    def open_one() -> WebSocketsSansIOProtocol:
        opened.append(uvicorn_protocol(SocketLimits(app, max_per_client=0)))
        return opened[-1]

    server = await asyncio.get_running_loop().create_server(open_one, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with connect(f"ws://127.0.0.1:{port}/ws/live/", compression=None) as client:
            while not sends:
                await asyncio.sleep(0.01)
            yield client, opened[0], sends[0]
    finally:
        server.close()


@only_the_tested_uvicorn
@pytest.mark.parametrize("closed_by", ["client", "server", "lost"])
async def test_a_uvicorn_socket_past_open_takes_no_direct_write(closed_by):
    """write_uvicorn reads only the transport: a close from the application must stop the
    direct writes, and uvicorn must close the transport as soon as websockets' state
    leaves OPEN any other way, before the loop runs anything else."""
    async with one_uvicorn_socket() as (client, protocol, send):
        assert send.write_prepared(PreparedFrame.of("while open"))
        assert await client.recv() == "while open"

        if closed_by == "client":
            # The client's close frame as it reaches the server: handled in one callback.
            closing = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN)
            closing.send_close(1000)
            protocol.data_received(b"".join(closing.data_to_send()))
            assert protocol.conn.state is not State.OPEN
        elif closed_by == "server":
            await send({"type": "websocket.close", "code": 1000})
            assert protocol.conn.state is not State.OPEN
        else:
            client.transport.abort()
            while not protocol.disconnected:
                await asyncio.sleep(0.01)

        assert not send.write_prepared(PreparedFrame.of("after the close"))


@only_the_tested_uvicorn
async def test_no_direct_write_overtakes_a_frame_uvicorn_holds_back():
    async with one_uvicorn_socket() as (client, protocol, send):
        # What the transport does past its high-water mark: uvicorn's send now waits.
        protocol.pause_writing()
        held = asyncio.create_task(send({"type": "websocket.send", "text": "held back"}))
        await asyncio.sleep(0.05)
        assert not held.done()

        assert not send.write_prepared(PreparedFrame.of("after it"))

        protocol.resume_writing()
        await held
        assert send.write_prepared(PreparedFrame.of("after it"))
        assert [await client.recv(), await client.recv()] == ["held back", "after it"]

        # Paused with nothing held back, the frame joins the transport's buffer in order:
        # what a socket may hold is SocketLimits' bound, not the transport's mark.
        protocol.pause_writing()
        assert send.write_prepared(PreparedFrame.of("while paused"))
        assert await client.recv() == "while paused"


async def test_direct_writes_can_be_turned_off():
    protocol = uvicorn_protocol()
    with override_settings(LIVE_COMMENTS={**settings.LIVE_COMMENTS, "DIRECT_WRITES": False}):
        assert direct_writer(protocol) is None


def counted_by_path(port: int, metric: str = "livecomments_room_frames_written_total"):
    """A counter of the gateway's /metrics by its `path` label (by default, the frames
    written to rooms' sockets)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        path: float(count)
        for path, count in re.findall(rf'^{metric}\{{path="(\w+)"\}} (\S+)$', text, re.M)
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.REDIS_URL or "sqlite" in settings.DATABASES["default"]["ENGINE"],
    reason="gateway processes need PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)",
)
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "plain"])
@pytest.mark.parametrize("server", SERVERS)
async def test_every_socket_gets_every_batch_whole_and_in_order(
    tmp_path, alice, bob, stream, server, direct
):
    # Batches a few seconds apart: the comments posted meanwhile share frames past 64 KiB.
    # The light sockets go with the direct writes: every reach under the server, or none.
    env = {
        **UNLIMITED_RATE,
        "LC_DELIVERY_POLICY": "0:3:1",
        "LC_DIRECT_WRITES": "1" if direct else "0",
        "LC_LIGHT_SOCKETS": "1" if direct else "0",
    }
    contents = [f"{n:03d} " + "é🎉x" * 120 for n in range(80)]
    with gateways(tmp_path, 1, env, servers=(server,)) as (gateway,):
        viewers = [await LiveClient(bob, port=gateway.port).connect() for _ in range(3)]
        poster = await LiveClient(alice, port=gateway.port).connect()
        try:
            for client in (*viewers, poster):
                await client.join(stream)
            for content in contents:
                await poster.send(
                    "post_comment",
                    streamId=str(stream.id),
                    content=content,
                    idempotencyKey=str(uuid.uuid4()),
                )
            for _ in contents:
                assert (await poster.receive_type("ack", timeout=20))["status"] == "accepted"

            received = await asyncio.gather(
                *(client.live_comments(len(contents), timeout=20) for client in viewers)
            )
            for comments in received:
                assert [comment["content"] for comment in comments] == contents

            written = counted_by_path(gateway.port)
            opened = counted_by_path(gateway.port, "livecomments_sockets_opened_total")
            # On other releases than the tested ones (the version matrix) the plain path.
            if direct and server_internals._tested(server):
                assert written.get("direct", 0) >= len(viewers) + 1
                assert opened == {"light": len(viewers) + 1}
            else:
                assert written.get("direct", 0) == 0 and written.get("plain", 0) > 0
                assert opened == {"plain": len(viewers) + 1}
        finally:
            for client in (*viewers, poster):
                await client.close()
