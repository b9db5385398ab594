"""CPU of a fresh join's backfill read, in process (docs/performance.md).

Fills a stream's recent-comments cache to its bound (twice CAPACITY comments, each a
rendered line of chat) and times `backfill` as a join calls it, the newest 50: once with
the cache unchanged between joins (a join storm between two flushes), once with a flush
appended before every join (posting as fast as joining). Process CPU per read, medians of
rounds. Nothing is stored in the database: a full cache answers without it.
"""

import asyncio
import statistics
import time

from django.utils import timezone

from comments import state
from comments.rendering import WireComment, wire_comment
from comments.selectors import backfill
from comments.state.recent import CAPACITY

from .after_commit import STREAM_ID


def _comments(first_id: int, count: int) -> list[WireComment]:
    now = timezone.now()
    comments = []
    for n in range(count):
        comment = wire_comment(
            comment_id=first_id + n, stream_id=STREAM_ID, user_id=1000 + n % 500,
            username=f"viewer-{n % 500}", content="a line of chat, as long as most are here",
            parent_id=None, is_highlighted=False, is_pinned=False, created_at=now,
            received_at=now, author_role="viewer",
        )  # fmt: skip
        comments.append(comment)
    return comments


async def _measure(joins: int, rounds: int) -> dict[str, list[float]]:
    recent = state.recent_comments()
    await recent.invalidate(STREAM_ID)
    generation, _ = await recent.read(STREAM_ID)
    next_id = int(time.time() * 1000) << 22
    await recent.load(STREAM_ID, generation, _comments(next_id, CAPACITY))
    await recent.append(STREAM_ID, _comments(next_id + CAPACITY, CAPACITY))
    next_id += 2 * CAPACITY
    cpu: dict[str, list[float]] = {"unchanged": [], "a flush between joins": []}
    for _ in range(rounds):
        for scenario, each in cpu.items():
            spent = 0.0
            for _ in range(joins):
                if scenario != "unchanged":
                    await recent.append(STREAM_ID, _comments(next_id, 1))
                    next_id += 1
                started = time.process_time()
                comments = await backfill(STREAM_ID, None)
                spent += time.process_time() - started
                assert len(comments) == 50
            each.append(spent / joins)
    return cpu


def report(joins: int, rounds: int) -> str:
    cpu = asyncio.run(_measure(joins, rounds))
    lines = [
        f"backfill read CPU per join, cache full ({2 * CAPACITY} comments), {joins} joins "
        f"a round, medians of {rounds} rounds"
    ]
    for scenario, each in cpu.items():
        runs = " / ".join(f"{seconds * 1e6:.0f}" for seconds in each)
        median = statistics.median(each) * 1e6
        lines.append(f"  {scenario:<22} {median:6.0f} µs   (rounds: {runs})")
    return "\n".join(lines)
