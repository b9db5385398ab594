"""Local delivery: this process's sockets of one stream, in cohorts, each with its batcher.

A StreamRoom holds what one gateway knows of a stream for its own sockets: the stream's
state as last heard, the viewer totals, the reactions heard this interval, and the
sockets, spread over cohorts whose comment frames go out at evenly spaced points of each
interval. It writes frames; it never talks to other gateways (that is `relay`).
"""

import asyncio
import itertools
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from livecomments import metrics

from .batcher import CommentBatcher
from .reactions import ReactionCounter
from .rendering import WireComment
from .server_internals import PreparedFrame

logger = logging.getLogger(__name__)

FAN_OUT_SLICE = 200
# A room's sockets get their comment frames in this many cohorts, at evenly spread points
# of each interval.
COHORTS = 8


# Writes a prepared frame straight to one socket; False: `send_frame` it instead.
Outlet = Callable[[PreparedFrame], bool]


class Socket(Protocol):
    def write_prepared(self, frame: PreparedFrame) -> bool:
        """Write the frame now if the server allows it; False: `send_frame` it instead."""

    def outlet(self) -> Outlet | None:
        """What may write the room's frames to this socket from now on without asking it,
        or None: ask `write_prepared` for each (a join's frames still going out first)."""

    async def send_frame(self, text: str) -> None: ...


@dataclass
class StreamInfo:
    stream_id: int
    title: str
    status: str
    host_id: int | None
    slow_mode_seconds: int


@dataclass(frozen=True)
class StreamSnapshot:
    """What every join of a stream is sent of its row: the same for every viewer."""

    info: StreamInfo
    settings: dict[str, Any]  # the protocol's StreamSettings
    pinned: list[WireComment]


class Cohort:
    """Sockets of a room whose comment frames go out at one point of each interval.

    Each cohort batches every comment for its sockets and numbers its own frames: a
    fan-out to thousands of sockets becomes a few smaller ones spread over the interval,
    instead of one burst that holds up the event loop and the sockets at its end.
    """

    def __init__(
        self, room: "StreamRoom", number: int, phase: float, *, sampled: bool = True
    ) -> None:
        # Each socket with its outlet: a fan-out then reaches one object per socket, not
        # the socket and then its outlet (5 to 12 % of a gateway's CPU at 2,000 viewers x
        # 100 comments/s, docs/performance.md).
        self.sockets: dict[Socket, Outlet | None] = {}
        self.batcher = CommentBatcher(
            room.stream_id,
            lambda text: room.send_local(text, self.sockets),
            lambda: room.viewer_total,
            gateway_id=f"{room.gateway_id}.{number}",
            phase=phase,
            sampled=sampled,
        )


class StreamRoom:
    def __init__(self, stream_id: int, gateway_id: str) -> None:
        self.stream_id = stream_id
        self.gateway_id = gateway_id
        self.info: StreamInfo | None = None
        self.viewer_total = 0
        self.reported_local = 0  # this gateway's sockets as last reported to the registry
        self.sent_viewer_total: int | None = None
        # A random start per room: the cohorts of two gateways' rooms fall apart too.
        start = random.random()
        self.cohorts = [
            Cohort(self, number, (start + number / COHORTS) % 1) for number in range(COHORTS)
        ]
        # Moderating sockets read the whole feed, never sampled (SPEC §3): a cohort of their own.
        self.moderating = Cohort(self, COHORTS, start, sampled=False)
        self._every_cohort = [*self.cohorts, self.moderating]
        self.reactions = ReactionCounter()
        self.heard_reactions: Counter[str] = Counter()
        # The stream's reactions so far as this room's sockets have been sent them: what a
        # joining socket's stream_state starts from, before the next reactions_batch.
        self.reaction_totals: Counter[str] = Counter()
        # The stream's row as a recent join read it, for the joins after it (Gateway.snapshot).
        self.snapshot: StreamSnapshot | None = None
        self.snapshot_read_at = 0.0
        # Counts what this room heard that may change the stream's row or its pins.
        self.row_changes = 0
        self._sending = asyncio.Lock()

    @property
    def viewer_count(self) -> int:
        """The stream's viewers on all gateways, with this gateway's own sockets up to date."""
        return max(0, self.viewer_total - self.reported_local + self.socket_count)

    @property
    def socket_count(self) -> int:
        """This gateway's sockets of the stream."""
        return sum(len(cohort.sockets) for cohort in self._every_cohort)

    def all_sockets(self) -> Iterator[Socket]:
        return itertools.chain.from_iterable(cohort.sockets for cohort in self._every_cohort)

    def add(self, socket: Socket, *, moderating: bool = False) -> None:
        if moderating:
            cohort = self.moderating
        else:
            cohort = min(self.cohorts, key=lambda cohort: len(cohort.sockets))
        cohort.sockets[socket] = socket.outlet()

    def remove(self, socket: Socket) -> None:
        for cohort in self._every_cohort:
            cohort.sockets.pop(socket, None)

    def outlet_changed(self, socket: Socket) -> None:
        """Take the socket's outlet again (its join's frames are out)."""
        for cohort in self._every_cohort:
            if socket in cohort.sockets:
                cohort.sockets[socket] = socket.outlet()

    def batch(self, comments: list[WireComment]) -> None:
        for cohort in self._every_cohort:
            if cohort.sockets:
                cohort.batcher.add(comments)

    def skip_seq(self) -> None:
        """Leave a batch number out in every cohort: its viewers resume what they missed."""
        for cohort in self._every_cohort:
            cohort.batcher.skip_seq()

    def buffered(self) -> int:
        return sum(len(cohort.batcher) for cohort in self._every_cohort)

    async def flush_batches(self) -> None:
        """Stop the batch timers and send what is buffered."""
        for cohort in self._every_cohort:
            await cohort.batcher.close()

    async def send_local(
        self,
        text: str,
        sockets: Mapping[Socket, Outlet | None] | Iterable[Socket] | None = None,
    ) -> None:
        """Write a frame to this gateway's sockets of the stream (by default all of them):
        a cohort's sockets with their outlets, or sockets (each asked)."""
        # One frame at a time per room keeps every socket's frames in order; between
        # slices of sockets the loop serves acks and Redis replies instead of waiting out
        # a whole fan-out. The frame is framed once for all of them (server_internals).
        async with self._sending:
            if sockets is None:
                targets = [pair for cohort in self._every_cohort for pair in cohort.sockets.items()]
            elif isinstance(sockets, Mapping):
                targets = list(sockets.items())
            else:
                targets = [(socket, None) for socket in sockets]
            prepared = PreparedFrame.of(text)
            direct = 0
            for index, (socket, outlet) in enumerate(targets, 1):
                try:
                    if (outlet or socket.write_prepared)(prepared):
                        direct += 1
                    else:
                        await socket.send_frame(text)
                except Exception:
                    # A socket closing mid fan-out (its disconnect not yet handled) must
                    # not cost the sockets after it this frame.
                    logger.debug("a frame to a closing socket failed", exc_info=True)
                if index % FAN_OUT_SLICE == 0:
                    await asyncio.sleep(0)
            metrics.ROOM_FRAMES_WRITTEN.labels("direct").inc(direct)
            metrics.ROOM_FRAMES_WRITTEN.labels("plain").inc(len(targets) - direct)

    def is_quiet(self) -> bool:
        """No sockets here, nothing buffered, no reactions waiting to be published."""
        return not self.socket_count and not self.buffered() and not self.reactions.counts
