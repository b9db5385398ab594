"""The generator's per-viewer accounting, done after the run from what each viewer noted.

Frames are fed as the gateway sends them; the figures must count every comment once per
viewer, its latency from the frame's arrival, and a comment seen twice as a duplicate.
"""

import orjson

from loadbench.clients import DELIVERED, JOINED, SLOTS, WorkerPlan, _Worker

RUN = "r1"


def batch(*comments: tuple[int, int], backfill: bool = False) -> bytes:
    """A comments_batch frame carrying test comments (number, sent µs)."""
    return orjson.dumps(
        {
            "type": "comments_batch",
            "payload": {
                "comments": [
                    {"id": str(number), "content": f"lb:{RUN}:{number}:{sent_us}"}
                    for number, sent_us in comments
                ],
                "isBackfill": backfill,
            },
        }
    )


def worker(viewers: int) -> _Worker:
    plan = WorkerPlan(
        index=0,
        run_id=RUN,
        stream_id="1",
        viewer_urls=("ws://unused",) * viewers,
        poster_urls=(),
        poster_tokens=(),
        first_comment=0,
        comment_count=0,
        total_comments=16,
        duration=1.0,
        deadline=0.0,
    )
    return _Worker(plan, [0] * SLOTS, None, None, None)


def test_each_viewer_counts_each_comment_once_with_its_latency():
    w = worker(viewers=2)
    sent = 1_000_000_000_000  # µs
    first, second = batch((0, sent), (1, sent)), batch((1, sent), (2, sent + 100_000))
    for slot in (0, 1):
        w.on_viewer_frame(slot, batch(backfill=True), 0)
    # Both viewers get the first batch (the same bytes, parsed once); viewer 0 also gets
    # a second batch repeating comment 1.
    w.on_viewer_frame(0, first, (sent + 120_000) / 1e6)
    w.on_viewer_frame(1, bytes(first), (sent + 130_000) / 1e6)
    w.on_viewer_frame(0, second, (sent + 250_000) / 1e6)

    result = w.result()

    assert w.counters[JOINED] == 2
    assert w.counters[DELIVERED] == 6  # frames' comments as received, duplicates included
    assert result["viewers_joined"] == 2
    bitmaps = result["viewer_bitmaps"]
    assert bitmaps[0] == 0b0111 and bitmaps[2] == 0b0011  # two bytes per viewer
    assert result["duplicates"] == 1
    assert result["viewer_frames"] == 3
    assert result["latency_ms"] == {120: 2, 130: 2, 150: 1}


def test_a_viewer_that_never_joined_is_left_out():
    w = worker(viewers=2)
    w.on_viewer_frame(1, batch(backfill=True), 0)
    w.on_viewer_frame(1, batch((3, 0)), 0.001)

    result = w.result()

    assert result["viewers_joined"] == 1
    assert result["viewer_bitmaps"] == bytes([0b1000, 0])
    assert result["latency_ms"] == {1: 1}
