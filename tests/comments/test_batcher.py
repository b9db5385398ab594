"""The batcher as a plain object: flush() driven directly, its timer on a clock the test moves."""

import asyncio
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from comments.batcher import DELIVERY_POLICY, CommentBatcher, sample, tier_for
from livecomments.settings import env_delivery_policy


def comment(n, content="hello", highlighted=False):
    return {"id": str(n), "content": content, "isHighlighted": highlighted}


class Recorder:
    def __init__(self):
        self.frames = []

    async def __call__(self, text):
        self.frames.append(json.loads(text))


@pytest.mark.parametrize(
    ("viewers", "interval", "delivered"),
    [
        (0, 0.1, 1.0),
        (999, 0.1, 1.0),
        (1_000, 0.2, 1.0),
        (9_999, 0.2, 1.0),
        (10_000, 0.5, 0.5),
        (99_999, 0.5, 0.5),
        (100_000, 1.0, 0.2),
        (5_000_000, 1.0, 0.2),
    ],
)
def test_the_viewer_count_selects_the_seed_tier(viewers, interval, delivered):
    tier = tier_for(viewers)
    assert (tier.interval, tier.delivered) == (interval, delivered)


def test_the_policy_is_ordered_from_the_largest_audience():
    thresholds = [tier.min_viewers for tier in DELIVERY_POLICY]
    assert thresholds == sorted(thresholds, reverse=True) and thresholds[-1] == 0


def test_an_operator_policy_replaces_the_seed_tiers(settings, monkeypatch):
    monkeypatch.setenv("LC_DELIVERY_POLICY", "0:0.1:1, 500:0.25:0.5")
    settings.LIVE_COMMENTS = {
        **settings.LIVE_COMMENTS,
        "DELIVERY_POLICY": env_delivery_policy("LC_DELIVERY_POLICY"),
    }

    assert (tier_for(499).interval, tier_for(499).delivered) == (0.1, 1.0)
    assert (tier_for(500).interval, tier_for(500).delivered) == (0.25, 0.5)
    assert (tier_for(50_000).interval, tier_for(50_000).delivered) == (0.25, 0.5)


@pytest.mark.parametrize(
    "policy", ["10000:0.5:0.5", "0:0.1", "0:0:1", "0:0.1:1.5", "0:0.1:0", "zero:0.1:1"]
)
def test_a_malformed_policy_is_refused_at_startup(monkeypatch, policy):
    monkeypatch.setenv("LC_DELIVERY_POLICY", policy)
    with pytest.raises(ImproperlyConfigured, match="LC_DELIVERY_POLICY must be tiers"):
        env_delivery_policy("LC_DELIVERY_POLICY")


async def test_a_flush_sends_one_frame_in_id_order():
    send = Recorder()
    batcher = CommentBatcher(5, send, lambda: 10)
    batcher.add([comment(3), comment(1)])
    batcher.add([comment(2)])

    assert await batcher.flush() == 3

    [frame] = send.frames
    assert frame["type"] == "comments_batch"
    assert frame["payload"]["streamId"] == "5"
    assert frame["payload"]["isBackfill"] is False
    assert [c["id"] for c in frame["payload"]["comments"]] == ["1", "2", "3"]
    assert await batcher.flush() == 0
    assert len(send.frames) == 1


@pytest.mark.parametrize(("viewers", "kept"), [(50_000, 50), (200_000, 20), (5_000, 100)])
async def test_large_audiences_get_a_sample(viewers, kept):
    send = Recorder()
    batcher = CommentBatcher(1, send, lambda: viewers)
    batcher.add([comment(n) for n in range(100)])
    assert await batcher.flush() == kept
    ids = [int(c["id"]) for c in send.frames[0]["payload"]["comments"]]
    assert ids == sorted(ids)


def test_sampling_prefers_highlighted_comments_then_questions():
    comments = [comment(n) for n in range(40)]
    comments += [comment(100 + n, content="why?") for n in range(5)]
    comments += [comment(200 + n, highlighted=True) for n in range(5)]

    kept = sample(comments, 0.2)  # 10 of 50

    kept_ids = {int(c["id"]) for c in kept}
    assert kept_ids == {200, 201, 202, 203, 204, 100, 101, 102, 103, 104}


async def test_live_batches_are_numbered_per_gateway():
    send = Recorder()
    batcher = CommentBatcher(1, send, lambda: 0, gateway_id="g1", first_seq=41)
    for n in range(3):
        batcher.add([comment(n)])
        await batcher.flush()
    assert [(f["payload"]["gatewayId"], f["payload"]["seq"]) for f in send.frames] == [
        ("g1", 41),
        ("g1", 42),
        ("g1", 43),
    ]


async def test_a_full_buffer_flushes_early_without_dropping():
    send = Recorder()
    batcher = CommentBatcher(1, send, lambda: 0, max_buffer=10)
    batcher.add([comment(n) for n in range(25)])
    await batcher.close()
    delivered = [c for f in send.frames for c in f["payload"]["comments"]]
    assert len(delivered) == 25


def test_flushes_fall_at_the_batchers_point_of_the_interval():
    on_the_second = CommentBatcher(1, Recorder(), lambda: 0, phase=0.0)
    a_quarter_later = CommentBatcher(1, Recorder(), lambda: 0, phase=0.25)

    assert on_the_second.next_due(10.05, 0.5) == pytest.approx(10.5)
    assert a_quarter_later.next_due(10.05, 0.5) == pytest.approx(10.125)
    assert a_quarter_later.next_due(10.2, 0.5) == pytest.approx(10.625)


class ManualClock:
    """Time moves only when the test moves it, or when the batcher waits (to its deadline)."""

    def __init__(self, now=100.0):
        self.now = now

    def time(self):
        return self.now

    async def wait(self, event, until):
        if not event.is_set():
            self.now = max(self.now, until)
        await asyncio.sleep(0)  # let other tasks run, as a real wait would


async def test_flushes_are_an_interval_apart_however_long_the_fan_out_takes():
    clock = ManualClock()
    started = []

    async def slow_send(text):
        started.append(clock.time())
        if len(started) == 1:
            batcher.add([comment(2)])  # arrives mid fan-out
        clock.now += 0.3  # the fan-out takes 0.3 s

    batcher = CommentBatcher(1, slow_send, lambda: 10_000, clock=clock)  # the 500 ms tier
    batcher.add([comment(1)])
    while len(started) < 2:
        await asyncio.sleep(0)
    await batcher.close()

    # Counted from the end of the first fan-out, the second frame would start 0.8 s after
    # the first.
    assert started[1] - started[0] == pytest.approx(0.5)


async def test_a_full_buffer_cuts_the_wait_short():
    clock = ManualClock()
    send = Recorder()
    batcher = CommentBatcher(1, send, lambda: 100_000, max_buffer=3, clock=clock)  # 1 s tier

    batcher.add([comment(n) for n in range(3)])
    for _ in range(10):
        await asyncio.sleep(0)

    assert len(send.frames) == 1 and clock.time() == 100.0
    await batcher.close()
