"""CPU of the work a gateway does after a flush commits, in process (docs/performance.md).

Runs the gateway's own `after_commit` (remembering the keys, the recent-comments cache,
the publish, marking the keys published, and hearing its own message back) for flushes
of a few sizes against the configured Redis, and reports process CPU per flush: user and
system time, the kernel's sends included. Nothing is stored in the database; the stream
needs no row. Process CPU, unlike a loadbench run, leaves out the load generator, so two
builds compare within a few per cent (run it from each build's checkout, alternating).
"""

import asyncio
import statistics
import time
import uuid

from django.utils import timezone

from comments.gateway import Gateway
from comments.rendering import wire_comment
from comments.writer import Post, Stored

# A stream id no loadbench or demo stream takes.
STREAM_ID = 999_999_999


def _flush(size: int, first_id: int) -> list[tuple[Post, Stored]]:
    now = timezone.now()
    stored = []
    for n in range(size):
        comment_id, key = first_id + n, uuid.uuid4().hex
        post = Post(1000 + n, f"poster-{n}", STREAM_ID, "a line of chat", key, None, now)
        comment = wire_comment(
            comment_id=comment_id, stream_id=STREAM_ID, user_id=post.author_id,
            username=post.username, content=post.content, parent_id=None,
            is_highlighted=False, is_pinned=False, created_at=now, received_at=now,
            author_role="viewer",
        )  # fmt: skip
        stored.append((post, Stored(comment_id, comment)))
    return stored


async def _measure(sizes: list[int], flushes: int, rounds: int) -> dict[int, list[float]]:
    gateway = Gateway()
    await gateway.room(STREAM_ID)
    cpu: dict[int, list[float]] = {size: [] for size in sizes}
    next_id = int(time.time() * 1000) << 22
    for size in sizes:  # warm up: connections, scripts loaded
        for _ in range(20):
            await gateway.after_commit(_flush(size, next_id))
            next_id += size
    for _ in range(rounds):
        for size in sizes:
            work = [_flush(size, next_id + n * size) for n in range(flushes)]
            next_id += flushes * size
            started = time.process_time()
            for stored in work:
                await gateway.after_commit(stored)
            cpu[size].append((time.process_time() - started) / flushes)
    await gateway.close()
    return cpu


def report(sizes: list[int], flushes: int, rounds: int) -> str:
    cpu = asyncio.run(_measure(sizes, flushes, rounds))
    lines = [f"after-commit CPU per flush, {flushes} flushes a round, medians of {rounds} rounds"]
    for size, each in cpu.items():
        runs = " / ".join(f"{seconds * 1e6:.0f}" for seconds in each)
        median = statistics.median(each) * 1e6
        lines.append(f"  {size:>3} post(s) a flush: {median:6.0f} µs   (rounds: {runs})")
    return "\n".join(lines)
