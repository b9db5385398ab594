"""The one door for real-time events: group names, frames, publishing, and this process's fan-out.

Each gateway process holds a single channel on the layer. When a group (a stream, a
user) gets its first local listener, that process channel joins the group, so a group
message reaches every process once, however many of its sockets watch, and the process
hands it to its local listeners. Broadcast frames are encoded once by the publisher and
travel as text. Like every Channels layer this is at-most-once: backfill and resume come
from the database and the recent-comments cache, never from here.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

Message = dict[str, Any]


def frame(kind: str, payload: dict[str, Any]) -> str:
    """Encode one server frame; callers that broadcast encode once and reuse the text."""
    return orjson.dumps({"type": kind, "payload": payload}).decode()


def stream_group(stream_id: int) -> str:
    return f"stream.{stream_id}"


def stream_of_group(group: str) -> int:
    """The stream a `stream_group` name is of."""
    return int(group.removeprefix("stream."))


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def stream_frame(kind: str, payload: dict[str, Any]) -> Message:
    """A message that every gateway writes, as is, to its sockets of the stream."""
    return {"type": "stream.frame", "frame": frame(kind, payload)}


# Called with each message of a group it listens on; a bound method, so that the same
# listener can be named again to stop listening.
Listener = Callable[[Message], Awaitable[None]]


async def publish(group: str, message: Message) -> None:
    """Send `message` (with a "type" naming it) to every process listening on `group`."""
    await get_channel_layer().group_send(group, {**message, "group": group})


def publish_on_commit(group: str, message: Message) -> None:
    """From synchronous code: publish once the current transaction commits."""
    transaction.on_commit(lambda: async_to_sync(publish)(group, message))


class FanOut:
    """This process's listeners per group, fed by one receive loop on one layer channel."""

    def __init__(self) -> None:
        self._layer = get_channel_layer()
        self._listeners: dict[str, set[Listener]] = {}
        self._channel: str | None = None
        self._receiving: asyncio.Task[None] | None = None

    async def listen(self, group: str, listener: Listener) -> None:
        listeners = self._listeners.get(group)
        if listeners is None:
            listeners = self._listeners[group] = set()
            listeners.add(listener)
            await self._layer.group_add(group, await self._process_channel())
        else:
            listeners.add(listener)

    async def unlisten(self, group: str, listener: Listener) -> None:
        listeners = self._listeners.get(group)
        if listeners is None or listener not in listeners:
            return
        listeners.discard(listener)
        if not listeners:
            del self._listeners[group]
            await self._layer.group_discard(group, await self._process_channel())

    async def close(self) -> None:
        if self._receiving is not None:
            self._receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiving
            self._receiving = None

    async def _process_channel(self) -> str:
        if self._channel is None:
            self._channel = await self._layer.new_channel("gateway.")
            self._receiving = asyncio.create_task(self._receive_loop())
        return self._channel

    async def _receive_loop(self) -> None:
        assert self._channel is not None
        while True:
            try:
                message = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("channel layer receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            for listener in list(self._listeners.get(message.get("group", ""), ())):
                try:
                    await listener(message)
                except Exception:
                    logger.exception("listener failed on %s", message.get("type"))
