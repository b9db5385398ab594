"""The one door for real-time events: group names, frames, publishing, and this process's fan-out.

Each gateway process holds a single channel on the layer. When a group (a stream, a
user) gets its first local listener, that process channel joins the group, so a group
message reaches every process once, however many of its sockets watch, and the process
hands it to its local listeners. Broadcast frames are encoded once by the publisher and
travel as text. Like every Channels layer this is at-most-once: backfill and resume come
from the database and the recent-comments cache, never from here.

On the in-memory layer (the embedded default) a layer reaches only its own process, so
what a process serving no sockets (a management command) publishes goes to the events
outbox (`livecomments.outbox`), a table in the database both processes share, and every
serving process's fan-out reads it a few times a second. With Redis the layer is shared
and the outbox is never used.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction
from django.utils import timezone

from livecomments.openings import Openings

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


def moderators_frame(kind: str, payload: dict[str, Any]) -> Message:
    """A message that every gateway writes, as is, to its moderating sockets of the stream."""
    return {"type": "stream.moderators_frame", "frame": frame(kind, payload)}


def user_frame(kind: str, payload: dict[str, Any]) -> Message:
    """A message for a user's group: each of the user's sockets is sent the frame as is."""
    return {"type": "user.frame", "frame": frame(kind, payload)}


# Called with each message of a group it listens on; a bound method, so that the same
# listener can be named again to stop listening.
Listener = Callable[[Message], Awaitable[None]]


async def publish(group: str, message: Message) -> None:
    """Send `message` (with a "type" naming it) to every process listening on `group`."""
    await get_channel_layer().group_send(group, {**message, "group": group})


def publish_on_commit(group: str, message: Message) -> None:
    """From synchronous code, in any process: publish once the current transaction commits."""
    transaction.on_commit(lambda: _publish_now(group, message))


def _publish_now(group: str, message: Message) -> None:
    if _reaches_other_processes() or _this_process_serves:
        async_to_sync(publish)(group, message)
    else:
        _put_in_outbox(group, message)


def _reaches_other_processes() -> bool:
    return not isinstance(get_channel_layer(), InMemoryChannelLayer)


# --- the outbox: the in-memory layer's way between processes -------------------------------

# Set once a fan-out of this process listens: from then on its in-memory layer has someone
# to deliver to, and this process's own events go there directly.
_this_process_serves = False
OUTBOX_POLL_SECONDS = 0.25
# Longer than any poll takes: an event older than this was read by every serving process.
OUTBOX_KEEP = timedelta(minutes=1)
OUTBOX_READ_LIMIT = 500


def _put_in_outbox(group: str, message: Message) -> None:
    # The model is imported here, not at the top: the base loads before the apps do.
    from livecomments.outbox.models import OutboxEvent

    with transaction.atomic():
        OutboxEvent.objects.create(group=group, message=message)
        # Writers clean up, so that the serving process only ever reads.
        OutboxEvent.objects.filter(created_at__lt=timezone.now() - OUTBOX_KEEP).delete()


def _outbox_head() -> int:
    """The id of the newest event in the outbox (0 when empty): a reader starts after it."""
    from livecomments.outbox.models import OutboxEvent

    newest = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return newest or 0


def _outbox_after(event_id: int) -> list[tuple[int, str, Message]]:
    """The outbox's events after `event_id`, oldest first (one indexed range read).

    SQLite commits one writer at a time, so ids become visible in order and none is
    skipped; on PostgreSQL two commands committing in the same instant could be.
    """
    from livecomments.outbox.models import OutboxEvent

    rows = OutboxEvent.objects.filter(id__gt=event_id).order_by("id")
    return list(rows.values_list("id", "group", "message")[:OUTBOX_READ_LIMIT])


class FanOut:
    """This process's listeners per group, fed by one receive loop on one layer channel and,
    on the in-memory layer, by the events outbox."""

    def __init__(self) -> None:
        self._layer = get_channel_layer()
        self._listeners: dict[str, set[Listener]] = {}
        self._joining = Openings()
        self._channel: str | None = None
        self._opening_channel = asyncio.Lock()
        self._receiving: asyncio.Task[None] | None = None
        self._reading_outbox: asyncio.Task[None] | None = None

    async def listen(self, group: str, listener: Listener) -> None:
        # A listener is not listening before the group is joined on the layer, even when
        # another listener of the group is still joining it.
        await self._joining.settled(group)
        listeners = self._listeners.get(group)
        if listeners is None:
            with self._joining.opening(group):
                self._listeners[group] = {listener}
                try:
                    await self._layer.group_add(group, await self._process_channel())
                except BaseException:
                    # Not listening after all (Redis is down): the next listen must join again.
                    # Its listener may have left meanwhile (unlisten), taking the group.
                    self._listeners.pop(group, None)
                    raise
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
        for task in (self._receiving, self._reading_outbox):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._receiving = self._reading_outbox = None

    async def _process_channel(self) -> str:
        # Sockets connect concurrently: without the lock two first calls each opened a
        # channel, and the groups joined on the one not read from lost their messages.
        async with self._opening_channel:
            if self._channel is None:
                self._channel = await self._open_channel()
        return self._channel

    async def _open_channel(self) -> str:
        channel = await self._layer.new_channel("gateway.")
        self._receiving = asyncio.create_task(self._receive_loop(channel))
        if isinstance(self._layer, InMemoryChannelLayer):
            await self._start_reading_outbox()
        return channel

    async def _start_reading_outbox(self) -> None:
        global _this_process_serves
        _this_process_serves = True
        # The head is read before the first group is joined: an event committed after it
        # reaches a socket that joins now. If it cannot be read, the reader reads it later.
        try:
            head: int | None = await database_sync_to_async(_outbox_head)()
        except Exception:
            logger.exception("reading the events outbox failed; retrying")
            head = None
        self._reading_outbox = asyncio.create_task(self._read_outbox_forever(head))

    async def _read_outbox_forever(self, seen: int | None) -> None:
        # Each fan-out reads for its own listeners, as from its own channel: two in one
        # process (tests run one per event loop) would otherwise hear everything twice.
        read = database_sync_to_async(_outbox_after)
        while True:
            await asyncio.sleep(OUTBOX_POLL_SECONDS)
            try:
                if seen is None:
                    seen = await database_sync_to_async(_outbox_head)()
                    continue
                events = await read(seen)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("reading the events outbox failed; retrying")
                continue
            for event_id, group, message in events:
                seen = event_id
                await self._hand_to_listeners({**message, "group": group})

    async def _receive_loop(self, channel: str) -> None:
        while True:
            try:
                message = await self._layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("channel layer receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            await self._hand_to_listeners(message)

    async def _hand_to_listeners(self, message: Message) -> None:
        for listener in list(self._listeners.get(message.get("group", ""), ())):
            try:
                await listener(message)
            except Exception:
                logger.exception("listener failed on %s", message.get("type"))
