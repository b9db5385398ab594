"""What we read and write under the servers' public APIs, pinned, with the plain path beside.

Everything here reaches into daphne (autobahn, Twisted) or uvicorn (websockets) objects that
their ASGI interface hides. Each reach is made only where the state it reads is understood:

- `buffered_bytes`: how much a socket's transport still holds (the slow-consumer bound);
- `send_unlimited`: our own frames lifted over daphne's incoming message size limit;
- `direct_writer`: one pre-framed frame written straight to a socket's transport.

A comment batch goes to thousands of sockets per interval. Through ASGI each socket pays for
a chain of coroutines (the consumer's `send`, Channels', our bound, the server's `send`), a
message dict, and the server framing the same text again; on daphne, Twisted then buffers
the bytes and registers the socket with the event loop to write them on its next turn. A
`PreparedFrame` is framed once per fan-out, and a direct writer puts its bytes on a socket
when the server's own state says a plain send would put exactly those bytes there: the
connection open, nothing compressed, nothing half sent or queued ahead. Otherwise it says
no and the caller takes the plain path. Direct writers exist only for the versions they
were tested with (tests/comments/test_direct_writes.py runs both servers); any other
version, or `LC_DIRECT_WRITES=0`, gets the plain path.
"""

import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.conf import settings
from websockets.protocol import State

# The versions the direct writers were tested against, per server.
TESTED_VERSIONS = {
    "uvicorn": {"uvicorn": "0.54.0", "websockets": "17.4"},
    "daphne": {"daphne": "4.2.3", "autobahn": "26.10.2", "twisted": "26.10.0"},
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

DirectWrite = Callable[[Any, bytes], bool]


def write_uvicorn(protocol: Any, wire: bytes) -> bool:
    """uvicorn's websockets-sansio protocol: write as its `send` would, or say no."""
    transport = protocol.transport
    if (
        protocol.close_sent
        or protocol.disconnected
        or protocol.conn.state is not State.OPEN
        or protocol.conn.extensions  # permessage-deflate: frames must be compressed
        # Paused: the plain path waits for the transport to drain; so must this socket.
        or not protocol.writable.is_set()
        or transport.is_closing()
    ):
        return False
    # asyncio's transports (uvloop's too) send at once what the kernel takes and buffer
    # the rest, as the plain path's `transport.write` does.
    transport.write(wire)
    return True


def write_daphne(protocol: Any, wire: bytes) -> bool:
    """daphne's autobahn protocol on a Twisted TCP transport: write as `sendMessage` would."""
    if (
        protocol.state != protocol.STATE_OPEN
        or protocol.send_state != protocol.SEND_STATE_GROUND  # a message half sent
        or protocol.send_queue  # chopped or synchronous writes waiting their turn
        or protocol.autoFragmentSize
        or protocol._perMessageCompress is not None  # negotiated at the handshake
    ):
        return False
    transport = protocol.transport
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
    if not settings.LIVE_COMMENTS["DIRECT_WRITES"] or protocol is None:
        return None
    # The exact classes tested: a subclass may send in its own way.
    cls = type(protocol)
    server = _PROTOCOL_CLASSES.get((cls.__module__, cls.__qualname__))
    if server is None or not _tested(server):
        return None
    return _WRITERS[server]


@cache
def _tested(server: str) -> bool:
    """Whether the installed versions of this server's stack are the ones tested here."""
    try:
        return all(
            version(package) == tested for package, tested in TESTED_VERSIONS[server].items()
        )
    except PackageNotFoundError:
        return False
