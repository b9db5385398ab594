"""A clean stop on SIGTERM: no new sockets, everything accepted flushed, sockets closed 1001.

Daphne on its own cancels every application on SIGTERM: queued posts are lost, the last
batches never leave and clients see an abnormal close. `GracefulShutdown` is the
outermost ASGI layer. On the first connection (when daphne's Twisted reactor is running
the asyncio loop, and has installed its own signal handlers) it takes over SIGTERM and
SIGINT; on the signal it refuses new connections, drains the gateway's writer and
batchers, tells the viewer registry this gateway has no sockets, closes each socket with
1001 ("going away", so clients reconnect elsewhere at once) and then stops the reactor.
"""

import asyncio
import contextlib
import logging
import signal
import sys

from .gateway import DRAIN_SECONDS, running_gateway
from .server_internals import light_receive, protocol_of

logger = logging.getLogger(__name__)

CLOSE_SECONDS = 3.0


class GracefulShutdown:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.draining = False
        self._installed_on: asyncio.AbstractEventLoop | None = None
        self._sockets: set = set()  # the `send` of each open WebSocket
        self._closed = asyncio.Event()

    async def __call__(self, scope, receive, send):
        self._install()
        if self.draining:
            return await self._refuse(scope, receive, send)
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        # Here, outermost: this frame holds the only other reference to the server's
        # queue of incoming messages, which rebinding `receive` lets go (server_internals).
        receive = light_receive(send, receive)
        self._sockets.add(send)
        try:
            return await self.inner(scope, receive, send)
        finally:
            self._sockets.discard(send)
            if self.draining and not self._sockets:
                self._closed.set()

    def _install(self) -> None:
        loop = asyncio.get_running_loop()
        if self._installed_on is loop:
            return
        self._installed_on = loop
        self._closed = asyncio.Event()
        # Only under daphne: a test process's loop keeps its own signal handling.
        reactor = sys.modules.get("twisted.internet.reactor")
        if getattr(reactor, "_asyncioEventloop", None) is not loop:
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.begin)

    def begin(self) -> None:
        if self.draining:
            return
        self.draining = True
        logger.info("shutting down: draining %d sockets", len(self._sockets))
        asyncio.get_running_loop().create_task(self.drain_and_stop())

    async def drain_and_stop(self) -> None:
        try:
            await asyncio.wait_for(self.drain(), DRAIN_SECONDS + CLOSE_SECONDS + 2)
        except Exception:
            logger.exception("graceful shutdown did not finish; stopping anyway")
        finally:
            _stop_reactor()

    async def drain(self) -> None:
        found = running_gateway()
        if found is not None:
            await found.drain()
        for send in list(self._sockets):
            try:
                await _close_going_away(send)
            except Exception:
                logger.exception("closing a socket failed")
        if self._sockets:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), CLOSE_SECONDS)
        if found is not None:
            with contextlib.suppress(Exception):
                await found.close()
        logger.info("shutdown drained; %d sockets still open", len(self._sockets))

    async def _refuse(self, scope, receive, send) -> None:
        if scope["type"] == "websocket":
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1001})
        elif scope["type"] == "http":
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")],
                }
            )
            await send({"type": "http.response.body", "body": b"shutting down\n"})


async def _close_going_away(send) -> None:
    """Close with 1001. Daphne's autobahn refuses 1001 from `websocket.close` (only 1000 and
    3000-4999), so under daphne the close frame goes to its protocol directly."""
    protocol = protocol_of(send)
    if protocol is not None and hasattr(protocol, "sendCloseFrame"):
        protocol.sendCloseFrame(code=1001, isReply=False)
    else:
        await send({"type": "websocket.close", "code": 1001})


def _stop_reactor() -> None:
    try:
        from twisted.internet import reactor

        if reactor.running:
            reactor.stop()
    except Exception:
        logger.exception("stopping the reactor failed")
