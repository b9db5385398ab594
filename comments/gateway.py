"""This process's live runtime: stream rooms, the comment writer and the periodic work.

A gateway is one per event loop (one per daphne process; one per test). A StreamRoom
holds this process's sockets of one stream in cohorts, each with its comment batcher,
and a reaction counter, and listens on the stream's group through the FanOut.

Comments travel between gateways as they are committed, and each gateway batches all of
them, its own and the others', for its own sockets: a viewer reads one frame per
interval however many gateways serve the stream.
"""

import asyncio
import itertools
import logging
import random
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from channels.db import database_sync_to_async

from livecomments.events import FanOut, Message, frame, publish, stream_group

from . import state
from .batcher import CommentBatcher
from .reactions import INTERVAL_SECONDS, ReactionCounter, add_to_totals
from .rendering import WireComment
from .selectors import visible_by_ids
from .writer import CommentWriter, Post, Stored

logger = logging.getLogger(__name__)

VIEWER_COUNT_SECONDS = 1.0
FULL_REPORT_SECONDS = 5.0
TOTALS_PERSIST_SECONDS = 2.0
FAN_OUT_SLICE = 200
# A room's sockets get their comment frames in this many cohorts, at evenly spread points
# of each interval.
COHORTS = 8
# Longer than the slowest batch interval: a live gateway has published a comment by then.
PUBLISH_GRACE_SECONDS = 5.0
# A room that published comments keeps announcing its last sequence number this long, so
# that a gateway which lost that message (a Redis reconnect) hears of it once back.
SEQ_ANNOUNCE_SECONDS = 30.0
# Comment messages a room keeps, to publish again for a gateway that lost them.
MESSAGES_KEPT = 100
# Asked this many times in vain (the messages no longer kept), a gateway gives them up;
# its viewers still resume the comments from the database when they reconnect.
RESEND_REQUESTS = 3


class Socket(Protocol):
    async def send_frame(self, text: str) -> None: ...


@dataclass
class StreamInfo:
    stream_id: int
    title: str
    status: str
    host_id: int | None
    slow_mode_seconds: int


class Cohort:
    """Sockets of a room whose comment frames go out at one point of each interval.

    Each cohort batches every comment for its sockets and numbers its own frames: a
    fan-out to thousands of sockets becomes a few smaller ones spread over the interval,
    instead of one burst that holds up the event loop and the sockets at its end.
    """

    def __init__(self, room: "StreamRoom", number: int, phase: float) -> None:
        self.sockets: set[Socket] = set()
        self.batcher = CommentBatcher(
            room.stream_id,
            lambda text: room.send_local(text, self.sockets),
            lambda: room.viewer_total,
            gateway_id=f"{room.gateway_id}.{number}",
            phase=phase,
        )


class StreamRoom:
    def __init__(self, stream_id: int, gateway_id: str, first_seq: int) -> None:
        self.stream_id = stream_id
        self.gateway_id = gateway_id
        self.group = stream_group(stream_id)
        self.info: StreamInfo | None = None
        self.viewer_total = 0
        self.reported_local = 0  # this gateway's sockets as last reported to the registry
        self.sent_viewer_total: int | None = None
        # A random start per room: the cohorts of two gateways' rooms fall apart too.
        start = random.random()
        self.cohorts = [
            Cohort(self, number, (start + number / COHORTS) % 1) for number in range(COHORTS)
        ]
        self.next_publish_seq = first_seq
        self.reactions = ReactionCounter()
        self.heard_reactions: Counter[str] = Counter()
        self._sending = asyncio.Lock()
        # This gateway's last comment messages of the stream, and when the last one went out
        # (loop time).
        self.published: deque[Message] = deque(maxlen=MESSAGES_KEPT)
        self.published_at = 0.0
        # Per gateway: the number of its last comment message heard here, and how often
        # this room has asked for the ones after it.
        self.heard_seqs: dict[str, int] = {}
        self.resend_requests: Counter[str] = Counter()

    @property
    def viewer_count(self) -> int:
        """The stream's viewers on all gateways, with this gateway's own sockets up to date."""
        return max(0, self.viewer_total - self.reported_local + self.socket_count)

    @property
    def socket_count(self) -> int:
        """This gateway's sockets of the stream."""
        return sum(len(cohort.sockets) for cohort in self.cohorts)

    def all_sockets(self) -> Iterator[Socket]:
        return itertools.chain.from_iterable(cohort.sockets for cohort in self.cohorts)

    async def publish_comments(
        self, comments: list[WireComment], keys: list[tuple[int, str, int]]
    ) -> None:
        """Send comments committed here to every gateway's batcher, this one's included.

        `keys` are their idempotency entries, marked published once the message is out.
        """
        # Numbered even if publishing fails: it may have reached some gateways, and a number
        # used twice would hide the second message from them; a gap makes viewers resume.
        seq, self.next_publish_seq = self.next_publish_seq, self.next_publish_seq + 1
        message = {
            "type": "stream.comments",
            "comments": comments,
            "gatewayId": self.gateway_id,
            "seq": seq,
        }
        await publish(self.group, message)
        # Kept and announced once out; comments that never left are the sweep's to publish.
        self.published.append(message)
        self.published_at = asyncio.get_running_loop().time()
        if keys:
            try:
                await state.idempotency_store().mark_published(keys)
            except Exception:
                logger.exception("marking %d idempotency keys published failed", len(keys))

    def add(self, socket: Socket) -> None:
        min(self.cohorts, key=lambda cohort: len(cohort.sockets)).sockets.add(socket)

    def remove(self, socket: Socket) -> None:
        for cohort in self.cohorts:
            cohort.sockets.discard(socket)

    def batch(self, comments: list[WireComment]) -> None:
        for cohort in self.cohorts:
            if cohort.sockets:
                cohort.batcher.add(comments)

    def buffered(self) -> int:
        return sum(len(cohort.batcher) for cohort in self.cohorts)

    async def flush_batches(self) -> None:
        """Stop the batch timers and send what is buffered."""
        for cohort in self.cohorts:
            await cohort.batcher.close()

    async def send_local(self, text: str, sockets: Iterable[Socket] | None = None) -> None:
        """Write a frame to this gateway's sockets of the stream (by default all of them)."""
        # One frame at a time per room keeps every socket's frames in order; between
        # slices of sockets the loop serves acks and Redis replies instead of waiting out
        # a whole fan-out.
        async with self._sending:
            targets = list(self.all_sockets() if sockets is None else sockets)
            for index, socket in enumerate(targets, 1):
                try:
                    await socket.send_frame(text)
                except Exception:
                    # A socket closing mid fan-out (its disconnect not yet handled) must
                    # not cost the sockets after it this frame.
                    logger.debug("a frame to a closing socket failed", exc_info=True)
                if index % FAN_OUT_SLICE == 0:
                    await asyncio.sleep(0)

    def is_announcing(self) -> bool:
        elapsed = asyncio.get_running_loop().time() - self.published_at
        return bool(self.published) and elapsed < SEQ_ANNOUNCE_SECONDS

    async def announce_seq(self) -> None:
        if self.is_announcing():
            last = self.published[-1]
            await publish(
                self.group,
                {"type": "stream.seq", "gatewayId": last["gatewayId"], "seq": last["seq"]},
            )

    def is_news(self, message: Message) -> bool:
        """Whether a comments message is for this room's sockets: not one they already had."""
        seq, origin = message["seq"], message["gatewayId"]
        heard = self.heard_seqs.get(origin)
        if heard is None and message.get("resent"):
            return False  # resent for another gateway, from before this room's sockets
        if heard is not None and seq <= heard:
            return False  # resent for another gateway; batched here already
        if heard is not None and seq > heard + 1:
            # Comments of that gateway were lost on the way (a Redis reconnect): a gap in
            # this room's own numbering tells its viewers to resume them.
            for cohort in self.cohorts:
                cohort.batcher.skip_seq()
        self.heard_seqs[origin] = seq
        self.resend_requests.pop(origin, None)
        return True

    async def check_announced(self, origin: str, seq: int) -> None:
        """Ask a gateway again for its comment messages after the last one heard here.

        The next message shows a gap; when none comes (a stream gone quiet), the gateway's
        announcement of its last number tells this room.
        """
        heard = self.heard_seqs.get(origin)
        if heard is not None and seq <= heard:
            return
        nobody_here = not self.socket_count
        if heard is None or nobody_here or self.resend_requests[origin] >= RESEND_REQUESTS:
            # The first word of that gateway here (its earlier messages predate these
            # sockets), nobody here to tell, or the messages are gone for good.
            if heard is not None and not nobody_here:
                logger.warning(
                    "stream %s: gave up comment messages %d-%d of gateway %s",
                    self.stream_id,
                    heard + 1,
                    seq,
                    origin,
                )
            self.heard_seqs[origin] = seq
            self.resend_requests.pop(origin, None)
            return
        self.resend_requests[origin] += 1
        logger.warning(
            "stream %s: comment messages %d-%d of gateway %s did not arrive; asking again",
            self.stream_id,
            heard + 1,
            seq,
            origin,
        )
        await publish(self.group, {"type": "stream.resend", "gatewayId": origin, "after": heard})

    async def resend(self, after: int) -> None:
        for message in list(self.published):
            if message["seq"] > after:
                await publish(self.group, {**message, "resent": True})

    async def on_group_message(self, message: Message) -> None:
        kind = message["type"]
        if kind == "stream.comments":
            if self.is_news(message):
                self.batch(message["comments"])
        elif kind == "stream.frame":
            await self.send_local(message["frame"])
        elif kind == "stream.seq":
            await self.check_announced(message["gatewayId"], message["seq"])
        elif kind == "stream.resend" and message["gatewayId"] == self.gateway_id:
            await self.resend(message["after"])
        elif kind == "stream.reactions":
            self.heard_reactions.update(message["counts"])
        elif kind == "stream.changed" and self.info is not None:
            for name, value in message["changes"].items():
                setattr(self.info, name, value)

    def is_idle(self) -> bool:
        return (
            not self.socket_count
            and not self.buffered()
            and not self.reactions.counts
            and not self.is_announcing()
        )


class Gateway:
    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.fanout = FanOut()
        self.rooms: dict[int, StreamRoom] = {}
        self.writer = CommentWriter(self._after_commit)
        # Posts of one (user, idempotency key) being stored right now: a twin waits for it.
        self.in_flight: dict[tuple[int, str], asyncio.Future[int]] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._next_seqs: dict[int, int] = {}
        self._persist_totals = database_sync_to_async(add_to_totals)
        self._pending_totals: Counter[Any] = Counter()

    async def room(self, stream_id: int) -> StreamRoom:
        room = self.rooms.get(stream_id)
        if room is None:
            room = self.rooms[stream_id] = StreamRoom(
                stream_id, self.id, self._next_seqs.pop(stream_id, 1)
            )
            await self.fanout.listen(room.group, room)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick_forever())
        return room

    async def join(self, socket: Socket, info: StreamInfo) -> StreamRoom:
        room = await self.room(info.stream_id)
        room.info = info
        room.add(socket)
        return room

    def leave(self, socket: Socket, room: StreamRoom) -> None:
        room.remove(socket)

    async def close(self) -> None:
        """Drain: store what is queued, flush every batch, stop the periodic work."""
        await self.writer.drain()
        for room in list(self.rooms.values()):
            await room.flush_batches()
        if self._ticker is not None:
            self._ticker.cancel()
        await self.fanout.close()

    async def _after_commit(self, stored: list[tuple[Post, Stored]]) -> None:
        # Keys stay in the store's unpublished set until their comments are out: if this
        # gateway dies first, another one publishes them (republish_unpublished).
        keys = {
            result.comment_id: (post.author_id, post.idempotency_key, result.comment_id)
            for post, result in stored
        }
        await state.idempotency_store().remember(list(keys.values()))
        comments = [result.comment for _, result in stored if result.comment is not None]
        replayed = [result.comment_id for _, result in stored if result.comment is None]
        if replayed:
            # A retry reached the database because the gateway that stored the key never
            # remembered it: it may have died before publishing the comment too. Publish it
            # again; viewers that had it drop it by id.
            comments += await database_sync_to_async(visible_by_ids)(replayed)
        await self._broadcast(comments, keys)

    async def republish_unpublished(self) -> None:
        """Publish comments whose gateway stored them but died before publishing them.

        Nobody may retry such a post (its author may have seen it in a resume), so every
        gateway sweeps for them; each entry is claimed by one gateway only.
        """
        entries = await state.idempotency_store().claim_unpublished(PUBLISH_GRACE_SECONDS)
        if entries:
            keys = {entry[2]: entry for entry in entries}
            await self._broadcast(await database_sync_to_async(visible_by_ids)(list(keys)), keys)

    async def _broadcast(
        self, comments: list[WireComment], keys: dict[int, tuple[int, str, int]]
    ) -> None:
        """Publish stored comments to their streams' gateways and the recent-comments cache.

        `keys` maps comment ids to their idempotency entries, marked published with them.
        """
        by_stream: dict[int, list[WireComment]] = defaultdict(list)
        for comment in comments:
            by_stream[int(comment["streamId"])].append(comment)
        for stream_id, stream_comments in by_stream.items():
            room = await self.room(stream_id)
            stream_keys = [keys.pop(int(c["id"])) for c in stream_comments if int(c["id"]) in keys]
            # Cached before published: a viewer joining while the frame goes out misses it
            # live, so its backfill must already hold these comments.
            try:
                await state.recent_comments().append(stream_id, stream_comments)
            except Exception:
                logger.exception("recent cache append failed for stream %s", stream_id)
                await state.recent_comments().invalidate(stream_id)
            try:
                await room.publish_comments(stream_comments, stream_keys)
            except Exception:
                # Their keys stay unpublished: the sweep publishes them once Redis is back.
                logger.exception("publishing %d comments failed", len(stream_comments))

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_viewers = next_full_report = next_totals = loop.time()
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            now = loop.time()
            try:
                await self._flush_reactions()
                if now >= next_viewers:
                    await self.republish_unpublished()
                    for room in list(self.rooms.values()):
                        await room.announce_seq()
                    full = now >= next_full_report
                    await self._update_viewer_counts(full_report=full)
                    next_viewers = now + VIEWER_COUNT_SECONDS
                    if full:
                        next_full_report = now + FULL_REPORT_SECONDS
                if now >= next_totals:
                    await self._persist_reaction_totals()
                    next_totals = now + TOTALS_PERSIST_SECONDS
                for stream_id, room in list(self.rooms.items()):
                    if room.is_idle() and room.reported_local == 0:
                        # A room made again later goes on numbering where this one ended.
                        self._next_seqs[stream_id] = room.next_publish_seq
                        del self.rooms[stream_id]
                        await self.fanout.unlisten(room.group, room)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("gateway tick failed")

    async def _flush_reactions(self) -> None:
        for room in list(self.rooms.values()):
            counts = room.reactions.take_counts()
            if counts:
                await publish(room.group, {"type": "stream.reactions", "counts": counts})
            self._pending_totals.update(room.reactions.take_totals())
            if room.heard_reactions and room.socket_count:
                await room.send_local(
                    frame(
                        "reactions_batch",
                        {
                            "streamId": str(room.stream_id),
                            "counts": dict(room.heard_reactions),
                            "timestamp": int(time.time() * 1000),
                        },
                    )
                )
            room.heard_reactions.clear()

    async def _update_viewer_counts(self, full_report: bool) -> None:
        changed = {
            stream_id: room.socket_count
            for stream_id, room in self.rooms.items()
            if full_report or room.socket_count != room.reported_local
        }
        registry = state.viewer_registry()
        await registry.report(self.id, changed)
        for stream_id, count in changed.items():
            self.rooms[stream_id].reported_local = count
        watched = [stream_id for stream_id, room in self.rooms.items() if room.socket_count]
        totals = await registry.totals(watched)
        for stream_id, total in totals.items():
            room = self.rooms[stream_id]
            room.viewer_total = total
            if total != room.sent_viewer_total:
                room.sent_viewer_total = total
                await room.send_local(
                    frame("viewer_count", {"streamId": str(stream_id), "count": total})
                )

    async def _persist_reaction_totals(self) -> None:
        if not self._pending_totals:
            return
        totals, self._pending_totals = self._pending_totals, Counter()
        try:
            await self._persist_totals(totals)
        except Exception:
            logger.exception("saving reaction totals failed; keeping them for the next try")
            self._pending_totals.update(totals)


_gateways: dict[asyncio.AbstractEventLoop, Gateway] = {}


def gateway() -> Gateway:
    """This event loop's gateway (one per daphne process)."""
    loop = asyncio.get_running_loop()
    found = _gateways.get(loop)
    if found is None:
        for stale in [other for other in _gateways if other.is_closed()]:
            del _gateways[stale]
        found = _gateways[loop] = Gateway()
    return found
