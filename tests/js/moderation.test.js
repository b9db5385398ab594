import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { LiveStore, TIMEOUTS, moderationChoices } from "../../static/livecomments/store.js";
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
