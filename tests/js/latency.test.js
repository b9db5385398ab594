import assert from "node:assert/strict";
import { test } from "node:test";

import { LatencyMonitor } from "../../static/livecomments/latency.js";
import { MAX_SAMPLES_PER_REPORT } from "../../static/livecomments/protocol.js";
import { comment } from "./helpers.js";

function recordingLogger() {
  const warnings = [];
  return { warnings, warn: (message) => warnings.push(message) };
}

test("measures from the gateway's receipt and hands samples over once", () => {
  const monitor = new LatencyMonitor(recordingLogger());
  monitor.record(comment(1, { metadata: { receivedAt: 10_000 } }), 10_150);
  monitor.record(comment(2, { metadata: { receivedAt: 10_000 } }), 10_300);
  assert.deepEqual(monitor.drain(), [150, 300]);
  assert.deepEqual(monitor.drain(), []);
});

test("warns about a comment shown more than a second late", () => {
  const logger = recordingLogger();
  const monitor = new LatencyMonitor(logger);
  monitor.record(comment(1, { metadata: { receivedAt: 0 } }), 1000);
  monitor.record(comment(2, { metadata: { receivedAt: 0 } }), 1001);
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0], /comment 2 displayed 1001 ms/);
});

test("keeps no more samples than one report may carry", () => {
  const monitor = new LatencyMonitor(recordingLogger());
  for (let i = 0; i < MAX_SAMPLES_PER_REPORT + 50; i++) monitor.record(comment(i), 1000);
  assert.equal(monitor.drain().length, MAX_SAMPLES_PER_REPORT);
});
