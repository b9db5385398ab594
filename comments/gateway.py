"""This process's live runtime: one Gateway per event loop (one per server process).

The gateway owns the parts, each in its own module: the comment writer (`writer`), per
stream a room of this process's sockets (`delivery`) and a relay of comment messages
between gateways (`relay`), and the periodic work (`periodic`). It is the one listener
of its streams' groups on the events door, and dispatches what it hears by type.

A comment leaves through it once: the writer commits a flush and hands the stored
comments to `broadcast`, which caches them for backfill and publishes them through each
stream's relay; every gateway then batches them for its own sockets.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator

from channels.db import database_sync_to_async
from django.conf import settings

from livecomments.events import (
    FanOut,
    Message,
    moderators_frame,
    publish,
    stream_group,
    stream_of_group,
)
from livecomments.openings import Openings

from . import state
from .delivery import Socket, StreamInfo, StreamRoom, StreamSnapshot
from .periodic import PeriodicWork
from .relay import Heard, IdempotencyEntry, Relay
from .rendering import WireComment
from .selectors import reaction_totals, visible_by_ids
from .writer import CommentWriter, Post, Stored

logger = logging.getLogger(__name__)

# Longer than the slowest batch interval: a live gateway has published a comment by then.
PUBLISH_GRACE_SECONDS = 5.0
# Time for our own fan-out to hand the last published batches to this process's sockets.
LAST_BATCH_SECONDS = 0.3
DRAIN_SECONDS = 10.0
# How long joins reuse a stream's row as a join read it. What changes it with a message to
# the stream (a pin, a hide, settings, the end) drops it at once; this bounds what changes
# it without one (an admin's edit of the title).
SNAPSHOT_SECONDS = 2.0
# What a room hears that may change the stream's row or its pins.
ROW_CHANGING = frozenset({"stream.frame", "stream.changed"})

# A room and the count of row changes it had heard when a join began reading the row.
RowMark = tuple[StreamRoom, int]


class Gateway:
    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.fanout = FanOut()
        self.rooms: dict[int, StreamRoom] = {}
        self.relays: dict[int, Relay] = {}
        self._opening_rooms = Openings()
        gather_ms = settings.LIVE_COMMENTS["WRITER_GATHER_MS"]
        self.writer = CommentWriter(self.after_commit, gather_seconds=gather_ms / 1000)
        # Committed comments whose keys Redis could not take yet (after_commit).
        self._unremembered: list[IdempotencyEntry] = []
        self.periodic = PeriodicWork(
            self.id, self.rooms, self.relays, sweep=self.republish_unpublished, forget=self.forget
        )
        # Where a stream forgotten here goes on numbering its comment messages.
        self._next_seqs: dict[int, int] = {}
        self._handlers: dict[str, Callable[[int, Message], Awaitable[None]]] = {
            "stream.comments": self._on_comments,
            "stream.frame": self._on_frame,
            "stream.moderators_frame": self._on_moderators_frame,
            "stream.seq": self._on_seq,
            "stream.resend": self._on_resend,
            "stream.reactions": self._on_reactions,
            "stream.changed": self._on_changed,
            "stream.recent_invalidated": self._on_recent_invalidated,
        }

    async def room(self, stream_id: int) -> StreamRoom:
        # A join answered while its room is still opening would miss what the stream's
        # group carries until then, and the stored reaction totals: it waits.
        await self._opening_rooms.settled(stream_id)
        room = self.rooms.get(stream_id)
        if room is None:
            with self._opening_rooms.opening(stream_id):
                room = await self._open_room(stream_id)
        self.periodic.ensure_running()
        return room

    async def _open_room(self, stream_id: int) -> StreamRoom:
        room = self.rooms[stream_id] = StreamRoom(stream_id, self.id)
        self.relays[stream_id] = Relay(stream_id, self.id, self._next_seqs.pop(stream_id, 1))
        listened = False
        try:
            await self.fanout.listen(stream_group(stream_id), self.on_stream_message)
            listened = True
            # Read after listening: every total is stored before it is published
            # (PeriodicWork), so what this room hears from now on comes on top of it.
            stored = await database_sync_to_async(reaction_totals)(stream_id)
            room.reaction_totals.update(stored)
        except BaseException:
            # Redis is down (a failover, a lost shard) or the database is: a room kept now
            # would stay deaf to the other gateways once it is back, or count the stream's
            # reactions from zero; the next join makes it again.
            del self.rooms[stream_id]
            self._next_seqs[stream_id] = self.relays.pop(stream_id).next_publish_seq
            if listened:
                await self.fanout.unlisten(stream_group(stream_id), self.on_stream_message)
            raise
        return room

    async def join(self, socket: Socket, info: StreamInfo, *, moderating: bool) -> StreamRoom:
        room = await self.room(info.stream_id)
        room.info = info
        room.add(socket, moderating=moderating)
        return room

    def snapshot(self, stream_id: int) -> tuple[StreamSnapshot | None, RowMark | None]:
        """The stream's row as a recent join read it, if still good; and, when a room here
        listens to the stream, the mark under which a new read may be kept."""
        room = self.rooms.get(stream_id)
        if room is None or self._opening_rooms.under_way(stream_id):
            return None, None
        fresh = time.monotonic() - room.snapshot_read_at < SNAPSHOT_SECONDS
        return (room.snapshot if fresh else None), (room, room.row_changes)

    def keep_snapshot(self, snapshot: StreamSnapshot, mark: RowMark, read_at: float) -> None:
        """Keep a join's read for the joins after it, unless its room has since heard of a
        change to the row (the read may have missed it) or is another room."""
        room, row_changes = mark
        if self.rooms.get(room.stream_id) is room and room.row_changes == row_changes:
            room.snapshot, room.snapshot_read_at = snapshot, read_at

    async def forget(self, stream_id: int) -> None:
        """Drop a quiet stream's room and relay; a later one goes on numbering where it ended."""
        if self._opening_rooms.under_way(stream_id):
            return  # quiet because its first socket is still joining
        del self.rooms[stream_id]
        self._next_seqs[stream_id] = self.relays.pop(stream_id).next_publish_seq
        await self.fanout.unlisten(stream_group(stream_id), self.on_stream_message)
        recent = state.recent_comments()
        if not recent.shared:
            # Unheard from now on, its moderation could leave this process's copy stale.
            await recent.invalidate(stream_id)

    async def drain(self) -> None:
        """Before a shutdown: store what is queued, send every batch, count no sockets here."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.writer.drain(), DRAIN_SECONDS)
        for room in list(self.rooms.values()):
            with contextlib.suppress(Exception):
                await room.flush_batches()
        with contextlib.suppress(Exception):
            await state.viewer_registry().report(self.id, dict.fromkeys(self.rooms, 0))
        await asyncio.sleep(LAST_BATCH_SECONDS)

    async def close(self) -> None:
        """Drain: store what is queued, flush every batch, stop the periodic work."""
        await self.writer.close()
        for room in list(self.rooms.values()):
            await room.flush_batches()
        self.periodic.stop()
        await self.fanout.close()

    # --- comments out ------------------------------------------------------------------

    async def after_commit(self, stored: list[tuple[Post, Stored]]) -> None:
        # Keys stay in the store's unpublished set until their comments are out: if this
        # gateway dies first, another one publishes them (republish_unpublished).
        keys = {
            result.comment_id: (post.author_id, post.idempotency_key, result.comment_id)
            for post, result in stored
        }
        try:
            await state.idempotency_store().remember(list(keys.values()))
        except Exception:
            # Redis is down (a restart, a Sentinel failover): these comments are committed
            # and acked, so viewers must still get them. Remembered by a later sweep, they
            # are then published as those of a gateway that died before publishing.
            logger.exception("remembering %d comments failed; the sweep retries", len(keys))
            self._unremembered.extend(keys.values())
            return
        held = [result for _, result in stored if result.held_reason is not None]
        if held:
            await self._tell_moderators_held(held, [keys.pop(r.comment_id) for r in held])
        comments = [
            result.comment
            for _, result in stored
            if result.comment is not None and result.held_reason is None
        ]
        replayed = [result.comment_id for _, result in stored if result.comment is None]
        if replayed:
            # A retry reached the database because the gateway that stored the key never
            # remembered it: it may have died before publishing the comment too. Publish it
            # again; viewers that had it drop it by id.
            comments += await database_sync_to_async(visible_by_ids)(replayed)
        await self.broadcast(comments, keys)

    async def _tell_moderators_held(self, held: list[Stored], keys: list[IdempotencyEntry]) -> None:
        """Held comments go to the stream's moderating sockets only, never to the feed."""
        for result in held:
            if result.comment is not None:  # new, not a retry of one held before
                comment = {**result.comment, "heldReason": result.held_reason}
                await publish(
                    stream_group(int(comment["streamId"])),
                    moderators_frame(
                        "comment_held", {"streamId": comment["streamId"], "comment": comment}
                    ),
                )
        # Nothing to publish to viewers: the sweep must not look for these.
        await state.idempotency_store().mark_published(keys)

    async def republish_unpublished(self) -> None:
        """Publish comments whose gateway stored them but died before publishing them.

        Nobody may retry such a post (its author may have seen it in a resume), so every
        gateway sweeps for them; each entry is claimed by one gateway only.
        """
        if self._unremembered:
            waiting, self._unremembered = self._unremembered, []
            try:
                await state.idempotency_store().remember(waiting)
            except Exception:
                self._unremembered = waiting + self._unremembered
                raise
        entries = await state.idempotency_store().claim_unpublished(PUBLISH_GRACE_SECONDS)
        if entries:
            keys = {entry[2]: entry for entry in entries}
            await self.broadcast(await database_sync_to_async(visible_by_ids)(list(keys)), keys)

    async def broadcast(
        self, comments: list[WireComment], keys: dict[int, IdempotencyEntry]
    ) -> None:
        """Publish stored comments to their streams' gateways and the recent-comments cache.

        `keys` maps comment ids to their idempotency entries, marked published with them.
        """
        by_stream: dict[int, list[WireComment]] = defaultdict(list)
        for comment in comments:
            by_stream[int(comment["streamId"])].append(comment)
        for stream_id, stream_comments in by_stream.items():
            await self.room(stream_id)
            stream_keys = [keys.pop(int(c["id"])) for c in stream_comments if int(c["id"]) in keys]
            # Cached before published: a viewer joining while the frame goes out misses it
            # live, so its backfill must already hold these comments.
            try:
                await state.recent_comments().append(stream_id, stream_comments)
            except Exception:
                logger.exception("recent cache append failed for stream %s", stream_id)
                # Its shard may be down as a whole; the cache expires then, and the other
                # streams of this batch must still go out.
                with contextlib.suppress(Exception):
                    await state.recent_comments().invalidate(stream_id)
            try:
                await self.relays[stream_id].publish_comments(stream_comments, stream_keys)
            except Exception:
                # Their keys stay unpublished: the sweep publishes them once Redis is back.
                logger.exception("publishing %d comments failed", len(stream_comments))

    # --- what the streams' groups say ----------------------------------------------------

    async def on_stream_message(self, message: Message) -> None:
        stream_id = stream_of_group(message["group"])
        handler = self._handlers.get(message["type"])
        room = self.rooms.get(stream_id)
        if handler is not None and room is not None:
            if message["type"] in ROW_CHANGING:
                room.row_changes += 1
                room.snapshot = None
            await handler(stream_id, message)

    async def _on_comments(self, stream_id: int, message: Message) -> None:
        heard = self.relays[stream_id].hear(message)
        if heard is not Heard.KNOWN:
            room = self.rooms[stream_id]
            if heard is Heard.NEWS_AFTER_GAP:
                room.skip_seq()
            room.batch(message["comments"])

    async def _on_frame(self, stream_id: int, message: Message) -> None:
        await self.rooms[stream_id].send_local(message["frame"])

    async def _on_moderators_frame(self, stream_id: int, message: Message) -> None:
        room = self.rooms[stream_id]
        await room.send_local(message["frame"], room.moderating.sockets)

    async def _on_seq(self, stream_id: int, message: Message) -> None:
        listened = bool(self.rooms[stream_id].socket_count)
        await self.relays[stream_id].check_announced(
            message["gatewayId"], message["seq"], listened=listened
        )

    async def _on_resend(self, stream_id: int, message: Message) -> None:
        if message["gatewayId"] == self.id:
            await self.relays[stream_id].resend(message["after"])

    async def _on_reactions(self, stream_id: int, message: Message) -> None:
        self.rooms[stream_id].heard_reactions.update(message["counts"])

    async def _on_recent_invalidated(self, stream_id: int, message: Message) -> None:
        # A shared cache was dropped by whoever moderated; a process's own is dropped here,
        # wherever the moderation happened (a command is another process).
        recent = state.recent_comments()
        if not recent.shared:
            await recent.invalidate(stream_id, message["hiddenIds"], message["shownIds"])

    async def _on_changed(self, stream_id: int, message: Message) -> None:
        info = self.rooms[stream_id].info
        if info is not None:
            for name, value in message["changes"].items():
                setattr(info, name, value)


_gateways: dict[asyncio.AbstractEventLoop, Gateway] = {}


def gateway() -> Gateway:
    """This event loop's gateway (one per server process), made on first use."""
    loop = asyncio.get_running_loop()
    found = _gateways.get(loop)
    if found is None:
        for stale in [other for other in _gateways if other.is_closed()]:
            del _gateways[stale]
        found = _gateways[loop] = Gateway()
    return found


def running_gateway() -> Gateway | None:
    """This event loop's gateway if it has one, without making one."""
    return _gateways.get(asyncio.get_running_loop())


def all_gateways() -> Iterator[Gateway]:
    """Every gateway of this process (one per event loop; tests may run several)."""
    return iter(list(_gateways.values()))


def socket_counts() -> Iterator[tuple[int, int]]:
    """(stream id, sockets) for every room of every gateway of this process, for metrics."""
    for found in all_gateways():
        for stream_id, room in list(found.rooms.items()):
            yield stream_id, room.socket_count
