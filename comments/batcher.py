"""Per-stream comment batching and the seed's degradation policy (SPEC §3).

A CommentBatcher is a plain object: a buffer, a send function, a viewer count and a clock
passed in. `flush()` sends one encoded `comments_batch` frame for everything buffered,
thinned by the tier that the stream's total viewer count selects. Every gateway batches
every comment of the stream for each cohort of its sockets; live batches carry the cohort's id
(the gateway's, with the cohort's number) and a sequence number per (cohort, stream),
which clients check for gaps.
"""

import asyncio
import contextlib
import functools
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from livecomments import metrics
from livecomments.events import frame

from .rendering import WireComment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryTier:
    min_viewers: int
    interval: float  # seconds between flushes
    delivered: float  # fraction of comments kept in the live feed, by score


# From the seed, Step 7; highest threshold first.
DELIVERY_POLICY: tuple[DeliveryTier, ...] = (
    DeliveryTier(100_000, 1.0, 0.2),
    DeliveryTier(10_000, 0.5, 0.5),
    DeliveryTier(1_000, 0.2, 1.0),
    DeliveryTier(0, 0.1, 1.0),
)


@functools.cache
def _tiers(configured: tuple[tuple[int, float, float], ...]) -> tuple[DeliveryTier, ...]:
    return tuple(sorted((DeliveryTier(*tier) for tier in configured), key=lambda t: -t.min_viewers))


def delivery_policy() -> tuple[DeliveryTier, ...]:
    """The configured tiers (LC_DELIVERY_POLICY), highest threshold first; else the seed's."""
    configured = settings.LIVE_COMMENTS.get("DELIVERY_POLICY")
    return _tiers(configured) if configured else DELIVERY_POLICY


def tier_for(viewers: int) -> DeliveryTier:
    return next(tier for tier in delivery_policy() if viewers >= tier.min_viewers)


def comment_score(comment: WireComment) -> float:
    # The random base is drawn from the comment's id: every gateway batches every comment,
    # and scores it alike.
    return (
        random.Random(int(comment["id"])).random()
        + (10 if comment["isHighlighted"] else 0)
        + (2 if "?" in comment["content"] else 0)
    )


def sample(comments: list[WireComment], fraction: float) -> list[WireComment]:
    """Keep the top `fraction` by score, in id order."""
    if fraction >= 1 or not comments:
        return comments
    keep = max(1, math.ceil(len(comments) * fraction))
    ranked = sorted(comments, key=comment_score, reverse=True)[:keep]
    return sorted(ranked, key=lambda c: int(c["id"]))


class Clock(Protocol):
    """What the batcher's timer reads and waits on."""

    def time(self) -> float: ...

    async def wait(self, event: asyncio.Event, until: float) -> None:
        """Return when `event` is set or the clock reaches `until`, whichever comes first."""


class LoopClock:
    """The running event loop's clock."""

    def time(self) -> float:
        return asyncio.get_running_loop().time()

    async def wait(self, event: asyncio.Event, until: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=max(until - self.time(), 0))


class CommentBatcher:
    """Buffers one stream's stored comments and sends them as one frame per interval."""

    def __init__(
        self,
        stream_id: int,
        send: Callable[[str], Awaitable[None]],
        viewers: Callable[[], int],
        *,
        gateway_id: str = "",
        first_seq: int = 1,
        max_buffer: int = 2000,
        phase: float = 0.0,
        clock: Clock | None = None,
        sampled: bool = True,
    ) -> None:
        """`sampled` False: every comment, whatever the tier (moderators see the whole feed)."""
        self.stream_id = stream_id
        self._send = send
        self._viewers = viewers
        self._clock = clock or LoopClock()
        self.max_buffer = max_buffer
        self.gateway_id = gateway_id
        self.next_seq = first_seq
        self.phase = phase  # where in each interval the flushes fall, as a fraction of it
        self.sampled = sampled
        self._last_due = -math.inf
        self._buffer: list[WireComment] = []
        self._task: asyncio.Task[None] | None = None
        self._full = asyncio.Event()

    def __len__(self) -> int:
        return len(self._buffer)

    def add(self, comments: list[WireComment]) -> None:
        self._buffer.extend(comments)
        if len(self._buffer) >= self.max_buffer:
            # Flush early rather than grow: the buffer stays bounded and nothing is dropped.
            self._full.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def flush(self) -> int:
        """Send what is buffered as one frame; return how many comments it carried."""
        if not self._buffer:
            return 0
        batch, self._buffer = self._buffer, []
        self._full.clear()
        batch.sort(key=lambda c: int(c["id"]))
        fraction = tier_for(self._viewers()).delivered if self.sampled else 1.0
        delivered = sample(batch, fraction)
        metrics.LIVE_BATCH_SIZE.observe(len(delivered))
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        text = frame(
            "comments_batch",
            {
                "streamId": str(self.stream_id),
                "comments": delivered,
                "isBackfill": False,
                "gatewayId": self.gateway_id,
                "seq": seq,
            },
        )
        await self._send(text)
        return len(delivered)

    def skip_seq(self) -> None:
        """Leave a number out: the viewers see a gap, and resume what they may have missed."""
        self.next_seq += 1

    async def close(self) -> None:
        """Stop the timer and send what is left."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await self.flush()

    def next_due(self, now: float, interval: float) -> float:
        """When the next flush falls: on this batcher's grid, at least an interval after the last.

        After a fan-out longer than the interval the next flush waits for the grid point
        after it: an overloaded gateway sends fewer, fuller frames.
        """
        offset = self.phase * interval
        on_grid = offset + math.ceil((now - offset) / interval) * interval
        return max(on_grid, self._last_due + interval)

    async def _run(self) -> None:
        # Runs while comments keep coming; an idle stream costs no timer. Flushes fall on a
        # grid one interval apart, shifted by the phase: no comment waits more than an
        # interval, and batchers of other phases spread their fan-outs over it.
        while self._buffer:
            due = self.next_due(self._clock.time(), tier_for(self._viewers()).interval)
            await self._clock.wait(self._full, due)
            # Earlier than due when a full buffer cut the wait short.
            self._last_due = min(due, self._clock.time())
            try:
                await self.flush()
            except Exception:
                logger.exception("flush of stream %s failed", self.stream_id)
