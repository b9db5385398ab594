"""A gateway's periodic work, every reaction interval while it serves any stream.

Each tick adds this gateway's reactions to the stored totals, then publishes its reaction
counts and writes the reactions heard to its sockets; every second it sweeps for comments
another gateway stored but never published, announces its last comment message per
stream, and reports its sockets to the viewer registry (fully every few seconds, so that a
gateway that died stops counting); every few seconds it adds the reactions per second to
the database and counts the comments it stored per second (comments.comment_seconds, for
the moments); and it forgets quiet streams.
"""

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from channels.db import database_sync_to_async

from livecomments.events import frame, publish, stream_group

from . import state
from .comment_seconds import count_streams
from .delivery import StreamRoom
from .reactions import INTERVAL_SECONDS, SecondKey, TotalKey, add_to_seconds, add_to_totals
from .relay import Relay

logger = logging.getLogger(__name__)

VIEWER_COUNT_SECONDS = 1.0
FULL_REPORT_SECONDS = 5.0
SECONDS_PERSIST_SECONDS = 2.0
COUNT_COMMENTS_SECONDS = 5.0


class PeriodicWork:
    def __init__(
        self,
        gateway_id: str,
        rooms: dict[int, StreamRoom],
        relays: dict[int, Relay],
        *,
        sweep: Callable[[], Awaitable[None]],
        forget: Callable[[int], Awaitable[None]],
    ) -> None:
        """`rooms` and `relays` are the gateway's own, read at each tick; `sweep` publishes
        what dead gateways left unpublished; `forget` drops a quiet stream."""
        self.gateway_id = gateway_id
        self.rooms = rooms
        self.relays = relays
        self._sweep = sweep
        self._forget = forget
        self._task: asyncio.Task[None] | None = None
        self._persist_totals = database_sync_to_async(add_to_totals)
        self._pending_totals: Counter[TotalKey] = Counter()
        self._persist_seconds = database_sync_to_async(add_to_seconds)
        self._pending_seconds: Counter[SecondKey] = Counter()
        self._count_streams = database_sync_to_async(count_streams)

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._tick_forever())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_viewers = next_full_report = next_seconds = next_count = loop.time()
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            now = loop.time()
            try:
                await self._flush_reactions()
                if now >= next_viewers:
                    await self._sweep()
                    for relay in list(self.relays.values()):
                        try:
                            await relay.announce_seq()
                        except Exception:
                            # Only that stream's shard is down: announce the others'.
                            logger.warning("announcing stream %s failed", relay.stream_id)
                    full = now >= next_full_report
                    await self._update_viewer_counts(full_report=full)
                    next_viewers = now + VIEWER_COUNT_SECONDS
                    if full:
                        next_full_report = now + FULL_REPORT_SECONDS
                if now >= next_seconds:
                    await _save_pending(
                        self._pending_seconds, self._persist_seconds, "reactions per second"
                    )
                    next_seconds = now + SECONDS_PERSIST_SECONDS
                if now >= next_count:
                    await self._count_comments()
                    next_count = now + COUNT_COMMENTS_SECONDS
                for stream_id, room in list(self.rooms.items()):
                    quiet = room.is_quiet() and not self.relays[stream_id].is_announcing()
                    if quiet and room.reported_local == 0:
                        await self._forget(stream_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("gateway tick failed")

    async def _flush_reactions(self) -> None:
        rooms = list(self.rooms.values())
        counts = {room.stream_id: room.reactions.take_counts() for room in rooms}
        for room in rooms:
            self._pending_totals.update(room.reactions.take_totals())
        # Totals are stored before their counts are published, so a room that starts
        # listening later finds in the database all it will not hear (Gateway.room).
        await _save_pending(self._pending_totals, self._persist_totals, "reaction totals")
        # This gateway's own counts, stamped with the second the interval ended in (at most
        # one interval late): the replay's reactions, summed over gateways.
        second = int(time.time())
        for room in rooms:
            for reaction_type, count in counts[room.stream_id].items():
                self._pending_seconds[(room.stream_id, second, reaction_type)] += count
            if counts[room.stream_id]:
                try:
                    await publish(
                        stream_group(room.stream_id),
                        {"type": "stream.reactions", "counts": counts[room.stream_id]},
                    )
                except Exception:
                    # Its Redis shard is down: that stream's reactions are lost, and the
                    # other shards' streams still get theirs.
                    logger.warning("publishing reactions of stream %s failed", room.stream_id)
            await self._send_heard_reactions(room)

    async def _send_heard_reactions(self, room: StreamRoom) -> None:
        if not room.heard_reactions:
            return
        heard = dict(room.heard_reactions)
        room.heard_reactions.clear()
        # At once with choosing the sockets: a socket joining from now on reads these in its
        # stream_state, those already here get them in this batch.
        room.reaction_totals.update(heard)
        sockets = list(room.all_sockets())
        if sockets:
            batch = {
                "streamId": str(room.stream_id),
                "counts": heard,
                "timestamp": int(time.time() * 1000),
            }
            await room.send_local(frame("reactions_batch", batch), sockets)

    async def _update_viewer_counts(self, full_report: bool) -> None:
        changed = {
            stream_id: room.socket_count
            for stream_id, room in self.rooms.items()
            if full_report or room.socket_count != room.reported_local
        }
        registry = state.viewer_registry()
        await registry.report(self.gateway_id, changed)
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

    async def _count_comments(self) -> None:
        # The streams this gateway stored comments on lately: those it still announces.
        storing = [stream_id for stream_id, relay in self.relays.items() if relay.is_announcing()]
        if not storing:
            return
        try:
            await self._count_streams(storing)
        except Exception:
            # Counted later, by this or the next count, or by a read of the moments.
            logger.exception("counting the comments of streams %s failed", storing)


async def _save_pending(pending: Counter, save: Callable[[Counter], Awaitable[None]], what: str):
    """Save what is pending; on failure keep it, with what comes meanwhile, for the next try."""
    if not pending:
        return
    taken = Counter(pending)
    pending.clear()
    try:
        await save(taken)
    except Exception:
        logger.exception("saving %s failed; keeping them for the next try", what)
        pending.update(taken)
