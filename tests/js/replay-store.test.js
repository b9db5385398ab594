import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  BEHIND_LIVE_MS,
  LiveEdge,
  LOOK_BACK_MS,
  REFRESH_LEAD_MS,
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

  test("a comment hidden after its window loaded is gone at once", () => {
    const timeline = new ReplayTimeline(60_000);
    timeline.addWindow(0, [page([at(1, 1_000), at(2, 2_000)])]);
    timeline.addWindow(1, [page([at(3, 12_000)])]);

    timeline.remove(["2", "3"]);

    assert.deepEqual(timeline.shownAt(15_000).map((c) => c.id), ["1"]);
  });

  test("a comment pinned after its window loaded is pinned where it was said", () => {
    const timeline = new ReplayTimeline(60_000);
    timeline.addWindow(0, [page([at(1, 1_000), at(2, 2_000)])]);

    timeline.update(comment(1, { isPinned: true, content: "pinned now" }));

    assert.deepEqual(timeline.pinnedAt(500), []);
    const [pinned] = timeline.pinnedAt(1_500);
    assert.equal(pinned.content, "pinned now");
    assert.equal(pinned.offsetMs, 1_000);
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

describe("a live stream's windows (DVR)", () => {
  test("a window known only partly is asked for again as the playhead nears where it stops", () => {
    const timeline = new ReplayTimeline();
    timeline.addWindow(0, [page([at(1, 1_000)])], 6_000);

    assert.deepEqual(timeline.wanted(500).filter((index) => index === 0), []);
    assert.deepEqual(timeline.wanted(6_000 - REFRESH_LEAD_MS + 1).filter((index) => index === 0), [0]);
    // Still shown meanwhile: the panel does not empty while the window reloads.
    assert.deepEqual(timeline.shownAt(2_000).map((c) => c.id), ["1"]);
  });

  test("a window known to its end is not asked for again", () => {
    const timeline = new ReplayTimeline();
    timeline.addWindow(0, [page([])], WINDOW_MS + 3_000);
    assert.equal(timeline.wanted(9_999).includes(0), false);
  });
});

describe("where a live stream's video stands against live", () => {
  /** A plain looping file of 30 s, as the demo's. */
  function file(positionMs, wallMs, extra = {}) {
    return { positionMs, wallMs, edgeMs: null, lengthMs: 30_000, loops: true, holding: true, ...extra };
  }

  test("playing on at live is live, across the file's loop", () => {
    const edge = new LiveEdge(0);
    assert.equal(edge.update(file(5_000, 100_000)), false);
    assert.equal(edge.update(file(29_900, 124_900)), false);
    assert.equal(edge.update(file(100, 125_100)), false);
    assert.equal(edge.offsetMs(125_100), 125_100);
  });

  test("seeking back past the limit is behind, and maps to the stream's time then", () => {
    const edge = new LiveEdge(40_000);
    edge.update(file(20_000, 100_000));

    assert.equal(edge.update(file(5_000, 100_000)), true);
    assert.equal(edge.behindMs, 15_000);
    // The stream 60 s in, seen 15 s back: 45 s in; playing on keeps the same distance.
    assert.equal(edge.offsetMs(100_000), 45_000);
    edge.update(file(6_000, 101_000));
    assert.equal(edge.offsetMs(101_000), 46_000);
  });

  test("a seek back within the limit stays live", () => {
    const edge = new LiveEdge(0);
    edge.update(file(20_000, 100_000));
    assert.equal(edge.update(file(20_000 - BEHIND_LIVE_MS + 1, 100_000)), false);
  });

  test("pausing at live falls behind once the live edge has moved on past the limit", () => {
    const edge = new LiveEdge(0);
    edge.update(file(20_000, 100_000));
    assert.equal(edge.update(file(20_000, 105_000, { holding: false })), false);
    assert.equal(edge.update(file(20_000, 111_000, { holding: false })), true);
    assert.equal(edge.behindMs, 11_000);
  });

  test("back to live puts the video at the projected edge", () => {
    const edge = new LiveEdge(0);
    edge.update(file(20_000, 100_000));
    edge.update(file(5_000, 100_000));

    const sample = file(8_000, 103_000);
    assert.equal(edge.edgeAt(sample), 23_000);
    edge.rejoin(edge.edgeAt(sample), sample.wallMs);

    assert.equal(edge.behind, false);
    assert.equal(edge.update(file(23_500, 103_500)), false);
  });

  test("a video with a live edge (HLS) is measured from its seekable range's end", () => {
    const edge = new LiveEdge(0);
    const hls = { positionMs: 50_000, wallMs: 200_000, edgeMs: 80_000, lengthMs: 80_000, loops: false, holding: true };
    assert.equal(edge.update(hls), true);
    assert.equal(edge.offsetMs(200_000), 170_000);
    assert.equal(edge.update({ ...hls, positionMs: 75_000 }), false);
  });
});
