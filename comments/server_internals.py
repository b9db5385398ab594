"""What we read and write under the servers' public APIs, pinned, with the plain path beside.

Everything here reaches into daphne (autobahn, Twisted) or uvicorn (websockets) objects that
their ASGI interface hides. Each reach is made only where the state it reads is understood:

- `buffered_bytes`: how much a socket's transport still holds (the slow-consumer bound);
- `send_unlimited`: our own frames lifted over daphne's incoming message size limit;
- `direct_writer`: one pre-framed frame written straight to a socket's transport;
- `light_receive`, `release_handshake` and `read_in_place`: less memory per open socket.

A comment batch goes to thousands of sockets per interval. Through ASGI each socket pays for
a chain of coroutines (the consumer's `send`, Channels', our bound, the server's `send`), a
message dict, and the server framing the same text again; on daphne, Twisted then buffers
the bytes and registers the socket with the event loop to write them on its next turn. A
`PreparedFrame` is framed once per fan-out, and a direct writer puts its bytes on a socket
when a plain send would put exactly those bytes there: the connection open, nothing
compressed, nothing half sent or queued ahead (what the server's state says, and what the
socket's send wrapper in `comments.limits` knows of the application's own sends).
Otherwise it says no and the caller takes the plain path. Direct writers exist only for
the versions they were tested with (tests/comments/test_direct_writes.py runs both
servers); any other version, or `LC_DIRECT_WRITES=0`, gets the plain path.

An idle socket costs the gateway memory for as long as it is open, and a gateway holds
thousands (docs/performance.md, "Memory per socket", `manage.py socket_memory`). Each
server keeps an `asyncio.Queue` of the socket's incoming messages (four deques), uvicorn
an `asyncio.Event` for its write buffer, both servers what they parsed of the handshake,
and Channels reads each message in a task of its own: 12 KB of a socket's 26 to 28 KB.
With `LC_LIGHT_SOCKETS` on and the tested versions installed, `light_receive` swaps the
queue and the event for `OneReaderQueue` and `Flag` (what the servers use of them, for
the one reader an ASGI application is), `release_handshake` lets the handshake go once
accepted, and `read_in_place` reads a consumer's messages without a task each; otherwise
each is left as it is.
"""

import asyncio
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from websockets.datastructures import Headers

from livecomments import metrics

# The versions the direct writers and the light sockets were tested against, per server
# (and Channels, for `read_in_place`).
TESTED_VERSIONS = {
    "uvicorn": {"uvicorn": "0.54.0", "websockets": "17.4"},
    "daphne": {"daphne": "4.2.3", "autobahn": "26.10.2", "twisted": "26.10.0"},
    "channels": {"channels": "4.3.2"},
}
_PROTOCOL_CLASSES = {
    ("uvicorn.protocols.websockets.websockets_sansio_impl", "WebSocketsSansIOProtocol"): "uvicorn",
    ("daphne.ws_protocol", "WebSocketProtocol"): "daphne",
}
TEXT_FRAME = 0x81  # FIN and the text opcode; frames from a server are never masked


@dataclass(frozen=True, slots=True)
class PreparedFrame:
    """A text frame's message, and the whole WebSocket frame a server would send for it."""

    text: str
    wire: bytes

    @classmethod
    def of(cls, text: str) -> "PreparedFrame":
        payload = text.encode()
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", TEXT_FRAME, size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", TEXT_FRAME, 126, size)
        else:
            header = struct.pack("!BBQ", TEXT_FRAME, 127, size)
        return cls(text, header + payload)


def protocol_of(send: Any) -> Any:
    """The server's protocol object behind an ASGI `send`, or None (tests, other servers).

    daphne's `send` is a partial of `handle_reply(protocol)`; uvicorn's is a bound method of
    its protocol.
    """
    if isinstance(send, partial) and send.args:
        return send.args[0]
    return getattr(send, "__self__", None)


def buffered_bytes(transport: Any) -> int | None:
    """Bytes a transport (asyncio's or Twisted's TCP) has accepted but not handed to the kernel."""
    if hasattr(transport, "get_write_buffer_size"):
        return transport.get_write_buffer_size()
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return None  # not a plain TCP transport (TLS, tests): no bound known


async def send_unlimited(protocol: Any, send: Any, message: dict[str, Any]) -> None:
    """Send a frame of ours whatever its size; the incoming size limit stays as it was.

    Daphne's `--websocket-max-message-size` bounds what clients send us, but autobahn
    applies it to what we send too: a resume backfill or a busy stream's batch over 64 KiB
    would raise. Daphne writes to the transport synchronously, with no await before it,
    so no incoming frame can be read while the limit is lifted.
    """
    limit = getattr(protocol, "maxMessagePayloadSize", 0)
    if not limit:
        return await send(message)
    protocol.maxMessagePayloadSize = 0
    try:
        await send(message)
    finally:
        protocol.maxMessagePayloadSize = limit


# --- direct writes ------------------------------------------------------------------------

# (the server's protocol object, its transport, the frame's bytes) -> written?
DirectWrite = Callable[[Any, Any, bytes], bool]


def write_uvicorn(protocol: Any, transport: Any, wire: bytes) -> bool:
    """uvicorn's websockets-sansio protocol: write as its `send` would, or say no.

    Only the transport is read, one object where reading the protocol's flags and its
    websockets state made three: each further object read of every socket for every frame
    cost 3 to 9 % of a gateway's CPU at 2,000 viewers x 100 comments/s (docs/performance.md).
    The caller (comments.limits) writes no frame once the application has sent its close,
    nor while one of its plain sends is in flight. Every other way out of OPEN, a close from
    the client, a frame uvicorn cannot parse, the keepalive's timeout, a lost connection or
    the server's shutdown, closes the transport in the same callback (read in the tested
    release's source; tests/comments/test_direct_writes.py holds it to that for a close
    from the client and a lost connection). Compression, fixed at the handshake, is ruled
    out once, by `direct_writer`.

    A paused transport (past its high-water mark) is written to as well, where uvicorn's
    `send` would wait for it to drain: the order is the same, the bytes join the buffer
    sooner, and what a socket may hold is bounded by comments.limits, which drops it past
    the mark it set, as daphne's sockets are.
    """
    if transport.is_closing():
        return False
    # asyncio's transports (uvloop's too) send at once what the kernel takes and buffer
    # the rest, as the plain path's `transport.write` does.
    transport.write(wire)
    return True


def write_daphne(protocol: Any, transport: Any, wire: bytes) -> bool:
    """daphne's autobahn protocol on a Twisted TCP transport: write as `sendMessage` would."""
    if (
        protocol.state != protocol.STATE_OPEN
        or protocol.send_state != protocol.SEND_STATE_GROUND  # a message half sent
        or protocol.send_queue  # chopped or synchronous writes waiting their turn
        or protocol.autoFragmentSize
        or protocol._perMessageCompress is not None  # negotiated at the handshake
    ):
        return False
    if buffered_bytes(transport) == 0 and transport.connected and not transport.disconnecting:
        # Nothing of this socket waits in Twisted's buffer, so the bytes may go to the
        # kernel now, in order: Twisted would otherwise hold them and register the socket
        # with the event loop to write on its next turn, a round of epoll calls per frame.
        try:
            sent = transport.socket.send(wire)
        except BlockingIOError:
            sent = 0
        except OSError:
            sent = 0  # a reset connection: Twisted finds out when it writes, and closes
        wire = wire[sent:]
    if wire:
        transport.write(wire)
    return True


_WRITERS: dict[str, DirectWrite] = {"uvicorn": write_uvicorn, "daphne": write_daphne}


def direct_writer(protocol: Any) -> DirectWrite | None:
    """The direct writer for this server's protocol object, or None: take the plain path."""
    if not settings.LIVE_COMMENTS["DIRECT_WRITES"]:
        return None
    server = _tested_server(protocol)
    if server is None:
        return None
    if server == "uvicorn" and protocol.conn.extensions:
        # permessage-deflate, negotiated before the application runs: every frame must be
        # compressed. (daphne settles it after the application accepts: write_daphne looks.)
        return None
    return _WRITERS[server]


def _tested_server(protocol: Any) -> str | None:
    """The server ("uvicorn" or "daphne") of a protocol object of a tested release, or None."""
    if protocol is None:
        return None
    # The exact classes tested: a subclass may send in its own way.
    cls = type(protocol)
    server = _PROTOCOL_CLASSES.get((cls.__module__, cls.__qualname__))
    return server if server is not None and _tested(server) else None


@cache
def _tested(server: str) -> bool:
    """Whether the installed versions of this server's stack are the ones tested here."""
    try:
        return all(
            version(package) == tested for package, tested in TESTED_VERSIONS[server].items()
        )
    except PackageNotFoundError:
        return False


# --- light sockets ------------------------------------------------------------------------


class OneReaderQueue:
    """What the servers use of `asyncio.Queue` (`put_nowait`, `get`, `empty`), for one reader.

    An ASGI application reads its `receive` one message at a time. asyncio's queue
    allocates four deques whatever it holds (items, getters, putters, and its `join`
    event's waiters), 760 bytes each; this holds a list and at most one waiting future.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._items = list(items)
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("a OneReaderQueue has one reader at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items


class Flag:
    """What uvicorn uses of `asyncio.Event` (`set`, `clear`, `is_set`, `wait`), without
    allocating a deque of waiters for every socket."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, value: bool) -> None:
        self._set = value
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if not self._set:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return True


def light_receive(send: Any, receive: Any) -> Any:
    """Give a new socket's server protocol a `OneReaderQueue`; return the `receive` to use.

    Called by the outermost ASGI layer before anything reads the socket: under daphne the
    `receive` it was given is the old queue's `get`, and rebinding its own `receive` to
    the returned one leaves that queue to be freed.
    """
    protocol = protocol_of(send)
    server = _tested_server(protocol) if settings.LIVE_COMMENTS["LIGHT_SOCKETS"] else None
    if server == "uvicorn":
        # uvicorn's `receive` reads `protocol.queue` each time; `writable` is waited on
        # by its `send` (and read by `write_uvicorn`).
        protocol.queue = OneReaderQueue(_drained(protocol.queue))
        protocol.writable = Flag(protocol.writable.is_set())
    elif server == "daphne" and getattr(receive, "__self__", None) is (
        queue := protocol.application_queue
    ):
        # daphne puts every message into `protocol.application_queue`, and hands the
        # application that queue's `get`.
        protocol.application_queue = OneReaderQueue(_drained(queue))
        receive = protocol.application_queue.get
    else:
        metrics.SOCKETS_OPENED.labels("plain").inc()
        return receive
    metrics.SOCKETS_OPENED.labels("light").inc()
    return receive


def _drained(queue: Any) -> list[Any]:
    """What is already queued (the connect message; a frame sent right after the handshake)."""
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def release_handshake(send: Any) -> None:
    """Once a socket is accepted, drop what its server keeps of the handshake."""
    protocol = protocol_of(send)
    server = _tested_server(protocol) if settings.LIVE_COMMENTS["LIGHT_SOCKETS"] else None
    if server == "uvicorn" and protocol.handshake_complete and protocol.request is not None:
        # uvicorn keeps the parsed request and the response, each with its headers, and
        # reads them only until the response is sent. websockets' parser keeps the request
        # too (a local of its generator, never read again): its headers are emptied.
        protocol.request.headers = Headers()
        protocol.request = protocol.response = None
    elif server == "daphne" and protocol.state == protocol.STATE_OPEN:
        # Here, not at the top: only daphne's gateways have Twisted's HTTP loaded.
        from twisted.web.http import HTTPChannel

        # autobahn's parse of the request, read only while the handshake is processed;
        # daphne's `request` shares the headers and keeps its path for logging.
        protocol.http_headers.clear()
        protocol.http_request_data = b""
        # daphne's upgrade leaves Twisted's HTTP channel registered as the transport's
        # producer, keeping the channel, its buffer and the upgrade request with its headers.
        # With that request never finished and nothing producing for it, the channel's
        # pause and resume do nothing: unregistering it changes nothing but the memory.
        transport = protocol.transport
        channel = getattr(transport, "producer", None)
        if (
            isinstance(channel, HTTPChannel)
            and channel._handlingRequest
            and channel._requestProducer is None
        ):
            transport.unregisterProducer()


def reads_in_place(consumer: Any) -> bool:
    """Whether `read_in_place` may serve this Channels consumer instead of its `__call__`.

    Channels reads a socket's messages through `await_many_dispatch`, made to wait on the
    socket and a layer channel at once: a task per message read, `asyncio.wait` with its
    future, set and callbacks, and three more coroutines, for as long as the socket is
    open. A consumer without a layer channel waits on one thing only: its `receive`.
    """
    return (
        settings.LIVE_COMMENTS["LIGHT_SOCKETS"]
        and _tested("channels")
        and get_channel_layer(consumer.channel_layer_alias) is None
    )


async def read_in_place(consumer: Any, scope: Any, receive: Any, send: Any) -> None:
    """`AsyncConsumer.__call__` for an async consumer without a layer, with no task per read."""
    consumer.scope = scope
    consumer.channel_layer = None
    consumer.base_send = send
    try:
        while True:
            await consumer.dispatch(await receive())
    except StopConsumer:
        pass
