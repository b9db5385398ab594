import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ConsoleStore,
  RATE_WINDOW_MS,
  RateMeter,
  heldReasonText,
  refusalText,
  reportReasonsText,
} from "../../static/livecomments/console.js";
import { comment } from "./helpers.js";

function held(id, overrides = {}) {
  return { ...comment(id), heldReason: "link", ...overrides };
}

function report(id, count, reasons = { spam: count }) {
  return { commentId: String(id), comment: comment(id), count, reasons };
}

const SETTINGS = { slowModeSeconds: 0, locked: false, minAccountAgeMinutes: 0, holdLinks: true, shield: false };

function storeWith({ held: heldComments = [], reports = [] } = {}) {
  const store = new ConsoleStore("1");
  store.applyModerationState({ streamId: "1", held: heldComments, reports, settings: SETTINGS });
  return store;
}

describe("the comment rate", () => {
  test("counts the comments of the last minute and forgets older ones", () => {
    const meter = new RateMeter();
    for (const at of [1_000, 2_000, 3_000]) meter.add(at);
    assert.equal(meter.perMinute(3_000), 3);
    assert.equal(meter.perMinute(1_000 + RATE_WINDOW_MS), 2);
    assert.equal(meter.perMinute(10 * RATE_WINDOW_MS), 0);
  });

  test("keeps arrivals in order when a backfill brings older ones", () => {
    const meter = new RateMeter();
    meter.add(5_000);
    meter.add(1_000);
    meter.add(3_000);
    assert.deepEqual(meter.times, [1_000, 3_000, 5_000]);
  });
});

describe("the console's feed", () => {
  test("keeps a hidden comment in place, struck through, until it is unhidden", () => {
    const store = new ConsoleStore("1");
    store.applyBatch([comment(1), comment(2)]);
    store.applyRemoved(["2"]);
    assert.deepEqual(store.comments.map((c) => c.id), ["1", "2"]);
    assert.equal(store.isHidden("2"), true);
    store.applyCommentUpdated(comment(2));
    assert.equal(store.isHidden("2"), false);
  });

  test("says what it knows of an author's ban or timeout", () => {
    const store = new ConsoleStore("1");
    store.restrictions.set("7", { code: "BANNED", until: null, reason: null });
    store.restrictions.set("8", { code: "BANNED", until: 5_000, reason: null });
    assert.equal(store.restrictionLabel("7", 1_000), "Banned");
    assert.equal(store.restrictionLabel("8", 1_000), "Timed out");
    assert.equal(store.restrictionLabel("8", 5_000), "");
    assert.equal(store.restrictionLabel("9", 1_000), "");
  });

  test("words a refusal for a moderator", () => {
    assert.equal(refusalText("NOT_FOUND"), "That comment or user no longer exists.");
    assert.equal(refusalText(null), "Refused.");
  });
});

describe("the held queue", () => {
  test("lists held comments oldest first, whatever order they arrive in", () => {
    const store = storeWith({ held: [held(30)] });
    store.applyHeld(held(10));
    store.applyHeld(held(200, { heldReason: "reported" }));
    assert.deepEqual(store.heldQueue().map((c) => c.id), ["10", "30", "200"]);
  });

  test("a comment held twice (a resend) is listed once", () => {
    const store = storeWith();
    store.applyHeld(held(10));
    store.applyHeld(held(10));
    assert.equal(store.heldQueue().length, 1);
  });

  test("a decision, here or by another moderator, takes it out of the queue", () => {
    const store = storeWith({ held: [held(10), held(11)] });
    store.reviewing.add("10");
    store.applyReviewed({ streamId: "1", commentId: "10", decision: "approved" });
    store.applyReviewed({ streamId: "1", commentId: "11", decision: "denied" });
    assert.deepEqual(store.heldQueue(), []);
    assert.equal(store.reviewing.size, 0);
  });

  test("a rejoin's state replaces the queue: what was decided meanwhile is gone", () => {
    const store = storeWith({ held: [held(10), held(11)] });
    store.reviewing.add("10");
    store.applyModerationState({ streamId: "1", held: [held(11), held(12)], reports: [], settings: SETTINGS });
    assert.deepEqual(store.heldQueue().map((c) => c.id), ["11", "12"]);
    assert.equal(store.reviewing.has("10"), false);
    assert.equal(store.settings.holdLinks, true);
  });

  test("names the rule that held a comment", () => {
    assert.equal(heldReasonText("link"), "Link");
    assert.equal(heldReasonText("reported"), "Reported by viewers");
    assert.equal(heldReasonText("first comment here (shield mode)"), "First comment here (shield mode)");
    assert.equal(heldReasonText(""), "Held");
  });
});

describe("reports", () => {
  test("lists reported comments most reported first, then oldest first", () => {
    const store = storeWith({ reports: [report(5, 1), report(6, 2)] });
    store.applyReport(report(4, 1));
    assert.deepEqual(store.reportList().map((r) => [r.commentId, r.count]), [["6", 2], ["4", 1], ["5", 1]]);
  });

  test("a new count replaces the old one, and a dismissal (count 0) removes it", () => {
    const store = storeWith({ reports: [report(5, 1)] });
    store.applyReport(report(5, 2, { spam: 1, hate: 1 }));
    assert.equal(store.reportCount("5"), 2);
    store.applyReport(report(5, 0, {}));
    assert.deepEqual(store.reportList(), []);
    assert.equal(store.reportCount("5"), 0);
  });

  test("a reported comment hidden outside the feed is still known as hidden", () => {
    const store = storeWith({ reports: [report(5, 1)] });
    store.applyRemoved(["5"]);
    store.applyBatch([comment(9)]);
    assert.equal(store.isHidden("5"), true);
  });

  test("an edit of a reported comment shows in its report", () => {
    const store = storeWith({ reports: [report(5, 1)] });
    store.applyCommentUpdated(comment(5, { content: "edited" }));
    assert.equal(store.reportList()[0].comment.content, "edited");
  });

  test("says the reasons in words, most given first", () => {
    assert.equal(reportReasonsText({ harassment: 1, spam: 2, other: 0 }), "spam 2 · harassment 1");
    assert.equal(reportReasonsText({ sexual: 1 }), "sexual content 1");
  });
});
