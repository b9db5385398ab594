import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  LOOK_BACK_MS,
  PREFETCH_MS,
  ReplayClock,
  ReplayTimeline,
  SHOWN_BEFORE,
  WINDOW_MS,
  barHeights,
  clampRate,
  clockText,
  windowOf,
} from "../../static/livecomments/replay-store.js";
import { comment } from "./helpers.js";

/** A replayed comment: the comment with its offset. */
function at(id, offsetMs, overrides = {}) {
  return { ...comment(id, overrides), offsetMs };
}

function page(comments, reactions = [], next = null) {
  return { comments, reactions, next };
}

describe("the chat at a moment", () => {
  test("shows what was said at or before the playhead, oldest first", () => {
    const timeline = new ReplayTimeline(60_000);
    timeline.addWindow(0, [page([at(3, 2_500), at(1, 1_000), at(2, 2_000)])]);

    assert.deepEqual(timeline.shownAt(2_000).map((c) => c.id), ["1", "2"]);
    assert.deepEqual(timeline.shownAt(9_999).map((c) => c.id), ["1", "2", "3"]);
  });

  test("is unknown while the playhead's window is loading", () => {
    const timeline = new ReplayTimeline(60_000);
    timeline.addWindow(0, [page([at(1, 1_000)])]);
    assert.equal(timeline.shownAt(WINDOW_MS + 5), null);
  });

  test("a seek shows the last fifty comments before it, across windows", () => {
    const timeline = new ReplayTimeline(60_000);
    const early = Array.from({ length: 40 }, (_, n) => at(100 + n, n * 200));
    const late = Array.from({ length: 30 }, (_, n) => at(200 + n, WINDOW_MS + n * 100));
    timeline.addWindow(0, [page(early)]);
    timeline.addWindow(1, [page(late.slice(0, 20), [], "219"), page(late.slice(20))]);

    const shown = timeline.shownAt(WINDOW_MS + 2_950);

    assert.equal(shown.length, SHOWN_BEFORE);
    assert.equal(shown.at(-1).id, "229");
    assert.equal(shown[0].id, String(100 + 40 - (SHOWN_BEFORE - 30)));
  });

  test("pins show once the replay reaches them, newest first", () => {
    const timeline = new ReplayTimeline(60_000);
    timeline.addWindow(0, [page([at(1, 1_000, { isPinned: true }), at(2, 5_000, { isPinned: true })])]);
    assert.deepEqual(timeline.pinnedAt(500), []);
    assert.deepEqual(timeline.pinnedAt(6_000).map((c) => c.id), ["2", "1"]);
  });

  test("reactions playing forward are summed from the seconds passed", () => {
    const timeline = new ReplayTimeline(60_000);
    const seconds = [
      { offsetMs: 800, counts: { like: 2 } },
      { offsetMs: 1_800, counts: { like: 1, wow: 4 } },
    ];
    timeline.addWindow(0, [page([], seconds)]);
    assert.deepEqual(timeline.reactionsBetween(700, 1_900), { like: 3, wow: 4 });
    assert.deepEqual(timeline.reactionsBetween(800, 1_000), {});
  });
});

describe("which windows to fetch", () => {
  test("the playhead's first, then the ones ahead it needs", () => {
    const timeline = new ReplayTimeline(120_000);
    const wanted = timeline.wanted(15_000);
    assert.equal(wanted[0], 1);
    assert.deepEqual(wanted, [1, 2, 3]);
    assert.equal(windowOf(15_000 + PREFETCH_MS), 3);
  });

  test("twice the speed prefetches twice as far, never past the end", () => {
    const timeline = new ReplayTimeline(50_000);
    assert.deepEqual(timeline.wanted(0, 2), [0, 1, 2, 3, 4]);
  });

  test("a seek looks back until fifty comments are known, at most five minutes", () => {
    const timeline = new ReplayTimeline(3_600_000);
    timeline.addWindow(100, [page([at(1, 1_000_500)])]);
    assert.equal(timeline.wanted(1_005_000, 1).includes(99), true);
    for (let index = 0; index <= 100; index++) timeline.addWindow(index, [page([])]);
    const back = timeline.wanted(1_005_000, 1);
    assert.ok(back.every((index) => index > 100), "nothing behind once loaded");
    assert.ok(windowOf(1_005_000 - LOOK_BACK_MS) > 0);
  });

  test("a window being loaded is not asked for again", () => {
    const timeline = new ReplayTimeline(30_000);
    timeline.loading.add(0);
    assert.deepEqual(timeline.wanted(0), [1, 2]);
  });
});

describe("the heat strip", () => {
  test("bars are heights relative to the hottest moment; reactions weigh less", () => {
    const heights = barHeights([
      { offsetMs: 0, comments: 10, reactions: 0 },
      { offsetMs: 1000, comments: 0, reactions: 50 },
      { offsetMs: 2000, comments: 20, reactions: 0 },
    ]);
    assert.deepEqual(heights, [0.5, 0.25, 1]);
  });

  test("a silent stream has flat bars", () => {
    assert.deepEqual(barHeights([{ offsetMs: 0, comments: 0, reactions: 0 }]), [0]);
  });
});

describe("the clock of a stream with no video", () => {
  test("moves only while playing, at its rate", () => {
    const clock = new ReplayClock(60_000);
    assert.equal(clock.position(5_000), 0);
    clock.play(1_000);
    assert.equal(clock.position(3_000), 2_000);
    clock.setRate(2, 3_000);
    assert.equal(clock.position(4_000), 4_000);
    clock.pause(4_000);
    assert.equal(clock.position(9_000), 4_000);
  });

  test("seeks, stops at the end and plays again from the start", () => {
    const clock = new ReplayClock(10_000);
    clock.seek(9_000, 0);
    clock.play(0);
    assert.equal(clock.position(5_000), 10_000);
    assert.equal(clock.ended(5_000), true);
    clock.pause(5_000);
    clock.play(6_000);
    assert.equal(clock.position(6_500), 500);
  });

  test("rates stay within half and twice the speed", () => {
    assert.equal(clampRate(4), 2);
    assert.equal(clampRate(0.1), 0.5);
    assert.equal(clampRate(Number.NaN), 1);
  });
});

test("positions read as clock times", () => {
  assert.equal(clockText(0), "0:00");
  assert.equal(clockText(125_400), "2:05");
  assert.equal(clockText(3_723_000), "1:02:03");
});
