"""Socket limits at the ASGI edge: sockets per client address, and viewers that stop reading.

Daphne hands every `websocket.send` straight to the socket's Twisted transport, whose
buffer grows without bound while the client does not read (a stalled phone, a hostile
client); uvicorn's send instead waits for a paused asyncio transport, which would hold up
every other viewer behind that one. So before each send we look at how many bytes that
transport still holds, and past `MAX_BUFFERED_BYTES` the socket is dropped: its memory is
freed at once, the other viewers never wait for it, and the client reconnects and resumes
from `lastSeenCommentId` with nothing lost. A flood of sockets from one address is refused
at the handshake.

The wrappers here are also where a room's pre-framed frames are written straight to a
socket (`write_prepared`, see `server_internals`), under the same bound and never ahead of
a frame sent the plain way.
"""

import contextlib
import logging
import socket
import time
from collections import Counter
from typing import Any

from django.conf import settings

from livecomments import metrics
from livecomments.proxies import client_address

from .server_internals import (
    DirectWrite,
    PreparedFrame,
    buffered_bytes,
    direct_writer,
    protocol_of,
    release_handshake,
    send_unlimited,
)

logger = logging.getLogger(__name__)

# A socket over its buffer bound this long, or over this many times the bound, is dropped.
SLOW_GRACE_SECONDS = 2.0
HARD_LIMIT_FACTOR = 8


def scope_address(scope: dict[str, Any]) -> str:
    """The client's address of an ASGI connection (livecomments.proxies)."""
    peer = (scope.get("client") or (None, 0))[0]
    forwarded = dict(scope.get("headers", ())).get(b"x-forwarded-for", b"")
    return client_address(peer, forwarded.decode("latin-1"))


class SocketLimits:
    """ASGI middleware for WebSocket scopes: a cap per client address and a send-buffer bound."""

    def __init__(self, inner, max_per_client: int | None = None, max_buffered: int | None = None):
        limits = settings.LIVE_COMMENTS
        self.inner = inner
        self.max_per_client = (
            limits["MAX_SOCKETS_PER_CLIENT"] if max_per_client is None else max_per_client
        )
        self.max_buffered = limits["MAX_BUFFERED_BYTES"] if max_buffered is None else max_buffered
        self.open: Counter[str] = Counter()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        address = scope_address(scope)
        if self.max_per_client and self.open[address] >= self.max_per_client:
            metrics.SOCKETS_REFUSED.labels("too_many_from_client").inc()
            logger.warning(
                "refused a socket from %s: %d open",
                address,
                self.open[address],
                extra={"client": address, "open_sockets": self.open[address]},
            )
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return
        self.open[address] += 1
        try:
            return await self.inner(scope, receive, self._bounded(send, address))
        finally:
            self.open[address] -= 1
            if self.open[address] <= 0:
                del self.open[address]

    def _bounded(self, send, address: str):
        protocol = protocol_of(send)
        if protocol is None:
            return send  # not a server's socket (tests): no limits to work around
        transport = getattr(protocol, "transport", None)
        direct = direct_writer(protocol) if transport is not None else None
        if transport is None or not self.max_buffered:
            return UnlimitedSend(protocol, send, direct, transport)
        if hasattr(transport, "set_write_buffer_limits"):
            # uvicorn's send waits while asyncio's transport is paused (past 64 KiB by
            # default): a viewer that stopped reading would hold up its room's whole fan-out
            # there. Pause only past the hard bound, where the next send drops the socket.
            transport.set_write_buffer_limits(high=HARD_LIMIT_FACTOR * self.max_buffered)
        kernel_buffer = settings.LIVE_COMMENTS["SOCKET_SEND_BUFFER_BYTES"]
        if kernel_buffer:
            with contextlib.suppress(AttributeError, OSError):
                # Twisted's transports hold their socket; asyncio's (and uvloop's) lend it.
                sock = getattr(transport, "socket", None) or transport.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, kernel_buffer)
        return BoundedSend(protocol, send, direct, transport, address, self.max_buffered)


class UnlimitedSend:
    """One socket's `send`: daphne's outgoing size limit lifted for our frames, and a room's
    frames written straight to the socket when nothing sent the plain way is ahead of them."""

    # Slotted: one lives as long as each socket.
    __slots__ = ("closing", "direct", "plain_sends", "protocol", "send", "transport")

    def __init__(
        self, protocol: Any, send: Any, direct: DirectWrite | None, transport: Any = None
    ) -> None:
        self.protocol = protocol
        self.send = send
        self.direct = direct
        self.transport = transport
        self.closing = False  # the application has sent its close
        self.plain_sends = 0  # frames sent the plain way, not yet taken by the server

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] != "websocket.send":
            return await self.send_other(message)
        if self.dropped_for_backlog():
            return
        # uvicorn holds a frame here while its transport drains: a direct write meanwhile
        # would overtake it.
        self.plain_sends += 1
        try:
            await send_unlimited(self.protocol, self.send, message)
        finally:
            self.plain_sends -= 1

    async def send_other(self, message: dict[str, Any]) -> None:
        """Accept or close; once accepted the server's handshake is no longer needed."""
        if message["type"] == "websocket.close":
            self.closing = True
        await self.send(message)
        if message["type"] == "websocket.accept":
            release_handshake(self.send)

    def write_prepared(self, frame: PreparedFrame) -> bool:
        """Write the frame straight to the socket; False: send its text the plain way."""
        if self.direct is None or self.closing or self.plain_sends:
            return False
        # A dropped socket takes no frame either way: done.
        return self.dropped_for_backlog() or self.direct(self.protocol, self.transport, frame.wire)

    def dropped_for_backlog(self) -> bool:
        """Whether this socket is (now) dropped for what its transport still holds: never."""
        return False


class BoundedSend(UnlimitedSend):
    """A server's `send` that drops the socket once its client stops reading."""

    __slots__ = ("address", "dropped", "limit", "over_since")

    def __init__(
        self,
        protocol: Any,
        send: Any,
        direct: DirectWrite | None,
        transport: Any,
        address: str,
        limit: int,
    ):
        super().__init__(protocol, send, direct, transport)
        self.address = address
        self.limit = limit
        self.dropped = False
        self.over_since: float | None = None

    def dropped_for_backlog(self) -> bool:
        if self.dropped:
            return True
        pending = buffered_bytes(self.transport) or 0
        if pending <= self.limit:
            self.over_since = None
            return False
        now = time.monotonic()
        if self.over_since is None:
            self.over_since = now  # a big backfill drains in milliseconds if read
        if now - self.over_since >= SLOW_GRACE_SECONDS or pending > HARD_LIMIT_FACTOR * self.limit:
            self.drop(pending)
            return True
        return False

    def drop(self, pending: int) -> None:
        self.dropped = True
        metrics.SLOW_SOCKETS_DROPPED.inc()
        logger.warning(
            "dropped a socket from %s that stopped reading (%d bytes waiting)",
            self.address,
            pending,
            extra={"client": self.address, "buffered_bytes": pending},
        )
        # A close frame would queue behind the backlog: cut the connection.
        # Twisted's transports abort with abortConnection, asyncio's with abort.
        (getattr(self.transport, "abortConnection", None) or self.transport.abort)()
