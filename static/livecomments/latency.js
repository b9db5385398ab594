// @ts-check
/**
 * Display latency (the seed's Step 10): now − metadata.receivedAt for each live comment
 * when it is shown, reported to the server in batches as `report_latency`.
 * The browser's clock is compared with the gateway's, so skew shows up in the figures;
 * that is the seed's trade-off for measuring what the viewer actually experiences.
 */

import { MAX_SAMPLES_PER_REPORT } from "./protocol.js";

/** @typedef {import('./protocol').CommentOut} Comment */

export const SLOW_DISPLAY_MS = 1000;
export const REPORT_INTERVAL_MS = 5000;

export class LatencyMonitor {
  /** @param {{warn: (...args: any[]) => void}} logger */
  constructor(logger) {
    this.logger = logger;
    /** @type {number[]} */
    this.samples = [];
  }

  /**
   * @param {Comment} comment
   * @param {number} now ms since the epoch, when the comment reached the screen
   */
  record(comment, now) {
    const latency = Math.max(0, Math.round(now - comment.metadata.receivedAt));
    if (latency > SLOW_DISPLAY_MS) {
      this.logger.warn(`live comment ${comment.id} displayed ${latency} ms after it was received`);
    }
    // Beyond one report's worth the figures are already representative; keep memory flat.
    if (this.samples.length < MAX_SAMPLES_PER_REPORT) this.samples.push(latency);
  }

  /** Hand over the samples collected since the last report. */
  drain() {
    const samples = this.samples;
    this.samples = [];
    return samples;
  }
}
