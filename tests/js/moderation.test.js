import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  LiveStore, REPORT_REASONS, TIMEOUTS, choicesAfterTheEnd, moderationChoices, ownChoices, reportChoices,
} from "../../static/livecomments/store.js";
import { REASONS } from "../../static/livecomments/protocol.js";
import { roleBadge } from "../../static/livecomments/view.js";
import { comment, key } from "./helpers.js";

const MODERATOR_ID = "99";

function choice(target, action, durationSeconds) {
  const found = moderationChoices(target, MODERATOR_ID).find(
    (entry) => entry.action === action && entry.durationSeconds === durationSeconds,
  );
  assert.ok(found, `no ${action} in the menu`);
  return found;
}

describe("badges", () => {
  test("the host and moderators get a badge with a whole name; viewers none", () => {
    assert.deepEqual(
      [roleBadge("host"), roleBadge("moderator")].map((badge) => [badge.text, badge.label]),
      [["Host", "Host"], ["Mod", "Moderator"]],
    );
    assert.equal(roleBadge("viewer"), null);
    assert.equal(roleBadge(undefined), null);
  });
});

describe("a comment's moderation menu", () => {
  test("offers what fits the comment's state, then timeouts and a ban of its author", () => {
    const labels = moderationChoices(comment(1), MODERATOR_ID).map((entry) => entry.label);
    assert.deepEqual(labels, ["Pin", "Highlight", "Hide", "1 min", "10 min", "1 h", "24 h", "Ban alice"]);

    const pinned = moderationChoices(comment(1, { isPinned: true, isHighlighted: true }), MODERATOR_ID);
    assert.deepEqual(pinned.slice(0, 2).map((entry) => entry.action), ["unpin", "unhighlight"]);
  });

  test("names each button for a screen reader with whom it acts on", () => {
    const names = moderationChoices(comment(1), MODERATOR_ID).map((entry) => entry.name);
    assert.ok(names.includes("Pin alice's comment"));
    assert.ok(names.includes("Time out alice for 10 minutes"));
    assert.ok(names.includes("Time out alice for 1 day"));
    assert.ok(names.includes("Ban alice from this stream"));
  });

  test("never offers to time out or ban the host, a moderator or oneself", () => {
    for (const target of [
      comment(1, { authorRole: "host" }),
      comment(2, { authorRole: "moderator" }),
      comment(3, { userId: MODERATOR_ID }),
    ]) {
      const actions = moderationChoices(target, MODERATOR_ID).map((entry) => entry.action);
      assert.deepEqual(actions, ["pin", "highlight", "hide"]);
    }
  });

  test("times out for the four lengths a moderator expects", () => {
    assert.deepEqual(TIMEOUTS.map((entry) => entry.seconds), [60, 600, 3600, 86400]);
  });

  test("after the end, hides, reports and deletes one's own: what still applies to a replay", () => {
    const store = new LiveStore("1");
    const justPosted = comment(1, { userId: MODERATOR_ID, createdAt: new Date().toISOString() });
    const moderating = choicesAfterTheEnd([
      ...ownChoices(justPosted, MODERATOR_ID, Date.now()),
      ...moderationChoices(justPosted, MODERATOR_ID),
    ]);
    assert.deepEqual(moderating.map((entry) => entry.action), ["delete", "hide"]);

    const viewing = choicesAfterTheEnd(reportChoices(comment(2), { id: "8", moderates: false }, store));
    assert.equal(viewing.length, Object.keys(REPORT_REASONS).length);
  });
});

describe("moderating from the page", () => {
  test("a comment action names the comment; a user action names its author, with the reason", () => {
    const store = new LiveStore("1");
    const target = comment(5, { userId: "7" });

    const pin = store.moderate(choice(target, "pin"), target, { idempotencyKey: key() });
    const timeout = store.moderate(choice(target, "timeout", 600), target, {
      idempotencyKey: key(), reason: "  calm down ",
    });

    assert.deepEqual(pin.payload, { streamId: "1", action: "pin", idempotencyKey: pin.payload.idempotencyKey, commentId: "5" });
    assert.equal(pin.text, "Pinning alice's comment…");
    assert.deepEqual(timeout.payload, {
      streamId: "1", action: "timeout", idempotencyKey: timeout.payload.idempotencyKey,
      userId: "7", durationSeconds: 600, reason: "calm down",
    });
  });

  test("each ack says how it went, once, and leaves comment acks alone", () => {
    const store = new LiveStore("1");
    const target = comment(5);
    const hide = store.moderate(choice(target, "hide"), target, { idempotencyKey: key() });
    const ban = store.moderate(choice(target, "ban"), target, { idempotencyKey: key() });
    const accepted = { idempotencyKey: hide.payload.idempotencyKey, commentId: "5", status: "accepted" };
    const refused = {
      idempotencyKey: ban.payload.idempotencyKey, commentId: null, status: "rejected", code: "FORBIDDEN",
    };

    assert.equal(store.applyModerationAck(accepted), "Hid alice's comment.");
    assert.equal(store.applyModerationAck(refused), `Could not ban alice: ${REASONS.FORBIDDEN}`);
    assert.equal(store.applyModerationAck(accepted), null, "answered already");
    assert.equal(store.applyModerationAck({ ...accepted, idempotencyKey: key() }), null);
  });

  test("a moderation without an ack is sent again, with its key, after a reconnect", () => {
    const store = new LiveStore("1");
    const target = comment(5);
    const first = store.moderate(choice(target, "timeout", 60), target, { idempotencyKey: key() });
    const second = store.moderate(choice(target, "pin"), target, { idempotencyKey: key() });
    store.applyModerationAck({ idempotencyKey: second.payload.idempotencyKey, commentId: "5", status: "accepted" });

    assert.deepEqual(store.unansweredModerations(), [first.payload]);
    assert.equal(
      store.applyModerationAck({ idempotencyKey: first.payload.idempotencyKey, commentId: null, status: "accepted" }),
      "Timed out alice for 1 minute.",
    );
  });
});

describe("a viewer's report", () => {
  const VIEWER = { id: "42", moderates: false };

  test("offers one entry per reason on someone else's comment, none on one's own", () => {
    const store = new LiveStore("1");
    const entries = reportChoices(comment(1), VIEWER, store);
    assert.deepEqual(entries.map((entry) => entry.reason), Object.keys(REPORT_REASONS));
    assert.deepEqual(entries.map((entry) => entry.label), ["Spam", "Harassment", "Hate", "Sexual content", "Violence", "Something else"]);
    assert.equal(entries[0].name, "Report alice's comment: spam");
    assert.deepEqual(reportChoices(comment(1, { userId: "42" }), VIEWER, store), []);
  });

  test("offers none to someone signed out, nor to a moderator, who hides instead", () => {
    const store = new LiveStore("1");
    assert.deepEqual(reportChoices(comment(1), null, store), []);
    assert.deepEqual(reportChoices(comment(1), { id: "42", moderates: true }, store), []);
  });

  test("sends the report with the key and marks the comment until the ack", () => {
    const store = new LiveStore("1");
    const idempotencyKey = key();
    const { payload, text } = store.report(comment(5), "spam", { idempotencyKey });
    assert.deepEqual(payload, { streamId: "1", commentId: "5", reason: "spam", idempotencyKey });
    assert.equal(text, "Reporting alice's comment…");
    assert.equal(store.reportStatus("5"), "sending");
    assert.deepEqual(reportChoices(comment(5), VIEWER, store), [], "not offered twice");

    const answer = store.applyReportAck({ idempotencyKey, commentId: "5", status: "accepted" });
    assert.equal(answer, "Reported alice's comment. Thank you: a moderator will look at it.");
    assert.equal(store.reportStatus("5"), "reported");
  });

  test("the mark stays when the comment is redrawn or the batch comes again", () => {
    const store = new LiveStore("1");
    store.applyBatch([comment(5)]);
    const idempotencyKey = key();
    store.report(comment(5), "hate", { idempotencyKey });
    store.applyReportAck({ idempotencyKey, commentId: "5", status: "accepted" });
    store.applyCommentUpdated(comment(5, { isPinned: true }));
    store.applyBatch([comment(5), comment(6)]);
    assert.equal(store.reportStatus("5"), "reported");
    assert.equal(store.reportStatus("6"), null);
  });

  test("a refusal says why and lets the viewer report again", () => {
    const store = new LiveStore("1");
    const idempotencyKey = key();
    store.report(comment(5), "spam", { idempotencyKey });
    const answer = store.applyReportAck({ idempotencyKey, commentId: null, status: "rejected", code: "NOT_FOUND" });
    assert.equal(answer, "Could not report alice's comment: That comment is no longer there.");
    assert.equal(store.reportStatus("5"), null);
    assert.equal(reportChoices(comment(5), VIEWER, store).length, 6);

    const other = key();
    store.report(comment(6, { username: "bob" }), "spam", { idempotencyKey: other });
    assert.equal(
      store.applyReportAck({ idempotencyKey: other, commentId: null, status: "rejected", code: "UNAVAILABLE" }),
      `Could not report bob's comment: ${REASONS.UNAVAILABLE}`,
    );
  });

  test("an unanswered report goes again with its key after a reconnect; an answered one does not", () => {
    const store = new LiveStore("1");
    const first = key();
    const second = key();
    store.report(comment(5), "spam", { idempotencyKey: first });
    store.report(comment(6), "other", { idempotencyKey: second });
    store.applyReportAck({ idempotencyKey: second, commentId: "6", status: "accepted" });
    assert.deepEqual(store.unansweredReports().map((payload) => payload.idempotencyKey), [first]);
  });

  test("an ack for a comment or a moderation is not taken for a report's", () => {
    const store = new LiveStore("1");
    store.report(comment(5), "spam", { idempotencyKey: key() });
    assert.equal(store.applyReportAck({ idempotencyKey: key(), commentId: "9", status: "accepted" }), null);
    assert.equal(store.reportStatus("5"), "sending");
  });

  test("a moderator's menu cannot send a report as a moderation", () => {
    const store = new LiveStore("1");
    const [entry] = reportChoices(comment(1), VIEWER, store);
    assert.throws(() => store.moderate(entry, comment(1), { idempotencyKey: key() }));
  });
});

describe("held comments and reports, moderated from the page", () => {
  test("approve, deny and dismiss are said in words", () => {
    const store = new LiveStore("1");
    for (const [action, said] of [
      ["approve", "Approved alice's comment."],
      ["deny", "Denied alice's comment."],
      ["dismiss_reports", "Dismissed the reports on alice's comment."],
    ]) {
      const idempotencyKey = key();
      store.moderate({ action, group: "comment", label: action, name: action }, comment(1), { idempotencyKey });
      assert.equal(store.applyModerationAck({ idempotencyKey, commentId: "1", status: "accepted" }), said);
    }
  });
});
