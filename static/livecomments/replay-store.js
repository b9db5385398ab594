// @ts-check
/**
 * The replay's state and rules, with no DOM and no clock of its own (SPEC §4, issue 16):
 * which windows of the chat are loaded, what the chat looked like at a moment, the clock
 * of a stream with no video, and the heat strip's moments.
 */

import { compareIds } from "./store.js";

/**
 * @typedef {import('./protocol').CommentOut & {offsetMs: number}} ReplayComment
 * @typedef {{offsetMs: number, counts: Record<string, number>}} ReactionSecond
 * @typedef {{comments: ReplayComment[], reactions: ReactionSecond[], next: string | null}} ReplayPage
 * @typedef {{offsetMs: number, comments: number, reactions: number}} Moment
 * @typedef {{bucketMs: number, buckets: Moment[]}} Moments
 */

/** Windows are fetched this long each, aligned, so that viewers share cached answers. */
export const WINDOW_MS = 10_000;
/** Seeking shows the chat as it was: this many comments before the moment. */
export const SHOWN_BEFORE = 50;
/** Playing keeps this much of the chat ahead loaded (in the stream's time, at 1×). */
export const PREFETCH_MS = 20_000;
/** A seek looks back at most this far for its comments (the API's biggest window). */
export const LOOK_BACK_MS = 5 * 60 * 1000;
export const MIN_RATE = 0.5;
export const MAX_RATE = 2;
/** A live stream's window is asked for again when it is known less than this past the playhead. */
export const REFRESH_LEAD_MS = 5_000;
/** A live stream's viewer is behind live (and sees the replay) when this far back from its edge. */
export const BEHIND_LIVE_MS = 10_000;
/** What the server has stored lags what it has sent: a live window is complete only this far back. */
export const STORE_LAG_MS = 2_000;
/** A comment says more than a tap: in a moment's heat, this many reactions weigh one comment. */
export const REACTIONS_PER_COMMENT = 10;

/** @param {number} rate */
export function clampRate(rate) {
  return Math.min(MAX_RATE, Math.max(MIN_RATE, Number.isFinite(rate) ? rate : 1));
}

/** @param {number} offsetMs */
export function windowOf(offsetMs) {
  return Math.floor(Math.max(0, offsetMs) / WINDOW_MS);
}

/** "1:02:03" or "2:03": a position in the stream. @param {number} offsetMs */
export function clockText(offsetMs) {
  const total = Math.max(0, Math.floor(offsetMs / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

export class ReplayTimeline {
  /** @param {number} durationMs the stream's length (Infinity while unknown) */
  constructor(durationMs = Infinity) {
    this.durationMs = durationMs;
    /** @type {Map<number, {comments: ReplayComment[], reactions: ReactionSecond[], untilMs: number}>} by window index */
    this.windows = new Map();
    /** @type {Set<number>} windows asked for and not yet answered */
    this.loading = new Set();
  }

  /**
   * Keep a window's pages, its comments by offset (then id, as the API orders them).
   * `untilMs`: the offset up to which the answer is complete (a live stream's window is
   * still filling: what the server had stored when it answered); whole for an ended one.
   * @param {number} index @param {ReplayPage[]} pages @param {number} untilMs
   */
  addWindow(index, pages, untilMs = Infinity) {
    const comments = pages.flatMap((page) => page.comments);
    comments.sort((a, b) => a.offsetMs - b.offsetMs || compareIds(a.id, b.id));
    this.windows.set(index, { comments, reactions: pages[0]?.reactions ?? [], untilMs });
    this.loading.delete(index);
  }

  /**
   * Whether window `index` is known far enough for the playhead at `offsetMs`: to its end,
   * or REFRESH_LEAD_MS past the playhead (a live stream's window is asked for again).
   * @param {number} index @param {number} offsetMs
   */
  fresh(index, offsetMs) {
    const window = this.windows.get(index);
    return Boolean(window) && /** @type {{untilMs: number}} */ (window).untilMs
      >= Math.min((index + 1) * WINDOW_MS, offsetMs + REFRESH_LEAD_MS);
  }

  /** @param {number} index */
  forget(index) {
    this.loading.delete(index);
  }

  /**
   * Comments hidden or deleted since their windows were loaded (a hide a day after the
   * end): gone from the replay at once. @param {string[]} commentIds
   */
  remove(commentIds) {
    const removed = new Set(commentIds);
    for (const window of this.windows.values()) {
      window.comments = window.comments.filter((comment) => !removed.has(comment.id));
    }
  }

  /**
   * A loaded comment changed (pinned, highlighted, edited): it takes its new state and
   * keeps its place. @param {import('./protocol').CommentOut} comment
   */
  update(comment) {
    for (const window of this.windows.values()) {
      const index = window.comments.findIndex((loaded) => loaded.id === comment.id);
      if (index !== -1) window.comments[index] = { ...comment, offsetMs: window.comments[index].offsetMs };
    }
  }

  /** The last window of the stream, or Infinity while its length is unknown. */
  lastWindow() {
    return Number.isFinite(this.durationMs) ? windowOf(this.durationMs - 1) : Infinity;
  }

  /**
   * The windows to fetch now for the playhead at `offsetMs`, most urgent first: its own,
   * those behind it until SHOWN_BEFORE comments are known (a seek), those ahead to prefetch.
   * @param {number} offsetMs @param {number} rate
   */
  wanted(offsetMs, rate = 1) {
    const here = windowOf(offsetMs);
    /** @type {number[]} */
    const wanted = [here];
    let known = 0;
    for (let index = here; index >= 0 && index >= windowOf(offsetMs - LOOK_BACK_MS); index--) {
      const window = this.windows.get(index);
      if (!window) {
        if (index !== here) wanted.push(index);
        break;
      }
      known += window.comments.filter((comment) => comment.offsetMs <= offsetMs).length;
      if (known >= SHOWN_BEFORE) break;
    }
    const ahead = windowOf(offsetMs + PREFETCH_MS * clampRate(rate));
    for (let index = here + 1; index <= Math.min(ahead, this.lastWindow()); index++) wanted.push(index);
    return wanted.filter((index) => !this.fresh(index, offsetMs) && !this.loading.has(index));
  }

  /**
   * The chat at `offsetMs`: the last SHOWN_BEFORE comments sent at or before it, oldest
   * first; null while the playhead's own window is not loaded.
   * @param {number} offsetMs
   * @returns {ReplayComment[] | null}
   */
  shownAt(offsetMs) {
    const here = windowOf(offsetMs);
    if (!this.windows.has(here)) return null;
    /** @type {ReplayComment[][]} */
    const parts = [];
    let count = 0;
    for (let index = here; index >= 0 && count < SHOWN_BEFORE; index--) {
      const window = this.windows.get(index);
      if (!window) break;
      const before = window.comments.filter((comment) => comment.offsetMs <= offsetMs);
      parts.unshift(before);
      count += before.length;
    }
    return parts.flat().slice(-SHOWN_BEFORE);
  }

  /**
   * Pins as they stand now, among what was said by `offsetMs` in the loaded windows,
   * newest first: the API tells what is pinned, not since when.
   * @param {number} offsetMs
   */
  pinnedAt(offsetMs) {
    const pinned = [...this.windows.values()].flatMap((window) =>
      window.comments.filter((comment) => comment.isPinned && comment.offsetMs <= offsetMs));
    return pinned.sort((a, b) => b.offsetMs - a.offsetMs);
  }

  /**
   * Reactions sent after `fromMs` and up to `toMs` (playing forward), summed by type.
   * @param {number} fromMs @param {number} toMs
   */
  reactionsBetween(fromMs, toMs) {
    /** @type {Record<string, number>} */
    const counts = {};
    for (let index = windowOf(fromMs); index <= windowOf(toMs); index++) {
      for (const second of this.windows.get(index)?.reactions ?? []) {
        if (second.offsetMs <= fromMs || second.offsetMs > toMs) continue;
        for (const [type, count] of Object.entries(second.counts)) counts[type] = (counts[type] ?? 0) + count;
      }
    }
    return counts;
  }
}

/** A moment's heat: its comments, and its reactions weighed less. @param {Moment} moment */
export function heat(moment) {
  return moment.comments + moment.reactions / REACTIONS_PER_COMMENT;
}

/**
 * Each bar's height as a fraction of the hottest (0 when the stream was silent).
 * @param {Moment[]} buckets
 */
export function barHeights(buckets) {
  const hottest = Math.max(0, ...buckets.map(heat));
  return buckets.map((moment) => (hottest ? heat(moment) / hottest : 0));
}

/**
 * The clock of a stream with no video: a position that moves at `rate` while playing.
 * Time comes in as an argument (performance.now() on the page), so tests need no timers.
 */
export class ReplayClock {
  /** @param {number} durationMs */
  constructor(durationMs) {
    this.durationMs = durationMs;
    this.playing = false;
    this.rate = 1;
    this.positionMs = 0;
    this.since = 0;
  }

  /** @param {number} now */
  position(now) {
    const moved = this.playing ? (now - this.since) * this.rate : 0;
    return Math.min(this.durationMs, this.positionMs + moved);
  }

  /** @param {number} now */
  play(now) {
    if (this.position(now) >= this.durationMs) this.positionMs = 0;
    else this.positionMs = this.position(now);
    this.since = now;
    this.playing = true;
  }

  /** @param {number} now */
  pause(now) {
    this.positionMs = this.position(now);
    this.since = now;
    this.playing = false;
  }

  /** @param {number} offsetMs @param {number} now */
  seek(offsetMs, now) {
    this.positionMs = Math.min(this.durationMs, Math.max(0, offsetMs));
    this.since = now;
  }

  /** @param {number} rate @param {number} now */
  setRate(rate, now) {
    this.positionMs = this.position(now);
    this.since = now;
    this.rate = clampRate(rate);
  }

  /** @param {number} now */
  ended(now) {
    return this.position(now) >= this.durationMs;
  }
}

/** A looping file a little ahead of its projected edge is at live (a frame's jitter, the wrap). */
const LOOP_SLACK_MS = 2_000;

/** @param {number} value @param {number} length */
function modulo(value, length) {
  return ((value % length) + length) % length;
}

/**
 * A sample of a live stream's video, as LiveEdge reads it.
 * @typedef {object} VideoSample
 * @property {number} positionMs where the video is (currentTime)
 * @property {number | null} edgeMs the end of its seekable range when it has a live edge
 *   (HLS, a MediaSource with an infinite duration); null for a plain file
 * @property {number} lengthMs a plain file's length (its seekable range's end)
 * @property {boolean} loops whether a plain file loops (the demo's does)
 * @property {boolean} holding whether the video holds the live pace: playing, or not started yet
 * @property {number} wallMs the wall clock, in the server's time
 */

/**
 * Where a live stream's video stands against live (issue 16, DVR): behind it or not, and
 * which moment of the stream it shows. No DOM and no clock: samples come in as arguments.
 *
 * The live edge is the seekable range's end for a video that has one; for a plain file
 * (the demo's) it is where the video would be had it played on at 1× since it was last at
 * live, wrapping when the file loops (a looping file up to 2 s ahead of that is at
 * live: a position is otherwise behind, as a loop has no ahead). A position `behindMs` back from the edge shows the stream as it
 * was `behindMs` ago: offsetMs = (wall clock − the stream's start) − behindMs.
 */
export class LiveEdge {
  /** @param {number} startedAtMs the stream's start (Stream.created_at), in the server's time */
  constructor(startedAtMs) {
    this.startedAtMs = startedAtMs;
    this.behind = false;
    this.behindMs = 0;
    /** @type {{positionMs: number, wallMs: number} | null} a plain file's last position at live */
    this.anchor = null;
  }

  /** The live edge, in the video's time. @param {VideoSample} sample */
  edgeAt(sample) {
    if (sample.edgeMs !== null) return sample.edgeMs;
    const anchor = this.anchor ?? sample;
    const projected = anchor.positionMs + (sample.wallMs - anchor.wallMs);
    if (sample.loops && sample.lengthMs > 0) return modulo(projected, sample.lengthMs);
    return Math.min(projected, sample.lengthMs);
  }

  /** How far the video is behind its live edge. @param {VideoSample} sample */
  gapMs(sample) {
    const edge = this.edgeAt(sample);
    if (sample.edgeMs !== null || !sample.loops || !(sample.lengthMs > 0)) {
      return Math.max(0, edge - sample.positionMs);
    }
    const back = modulo(edge - sample.positionMs, sample.lengthMs);
    const ahead = modulo(sample.positionMs - edge, sample.lengthMs);
    return ahead < LOOP_SLACK_MS ? 0 : back;
  }

  /** Take a sample; returns whether the viewer is behind live. @param {VideoSample} sample */
  update(sample) {
    const gap = this.gapMs(sample);
    this.behind = gap > BEHIND_LIVE_MS;
    this.behindMs = this.behind ? gap : 0;
    if (!this.behind && (sample.holding || !this.anchor)) {
      this.anchor = { positionMs: sample.positionMs, wallMs: sample.wallMs };
    }
    return this.behind;
  }

  /** Back to live: the video is put at `positionMs` (the edge) at `wallMs`. @param {number} positionMs @param {number} wallMs */
  rejoin(positionMs, wallMs) {
    this.anchor = { positionMs, wallMs };
    this.behind = false;
    this.behindMs = 0;
  }

  /** The moment of the stream the video shows, relative to its start. @param {number} wallMs */
  offsetMs(wallMs) {
    return Math.max(0, wallMs - this.startedAtMs - this.behindMs);
  }
}

/** "0:25 behind live". @param {number} behindMs */
export function behindText(behindMs) {
  return `${clockText(behindMs)} behind live`;
}
