import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  COMMENT_LIMIT,
  LiveStore,
  MAX_PENDING,
  PENDING_MAX_AGE_MS,
  PendingStorage,
  RESUME_OVERLAP_MS,
  compareIds,
  reconnectDelay,
  resumeAfter,
} from "../../static/livecomments/store.js";
import { MAX_CONTENT_CHARS, REASONS, SNOWFLAKE } from "../../static/livecomments/protocol.js";
import { MemoryStorage, comment, key } from "./helpers.js";

function composed(store, now = 0, content = "hello") {
  const result = store.compose({ content, parentId: null, idempotencyKey: key(), now });
  assert.equal(result.ok, true);
  return result.entry;
}

function statuses(store) {
  return store.optimistic.map((entry) => entry.status);
}

describe("comment ids", () => {
  test("snowflakes compare as numbers without losing precision", () => {
    assert.ok(compareIds("9007199254740993", "9007199254740992") > 0);
    assert.ok(compareIds("99", "100") < 0);
    assert.equal(compareIds("123", "123"), 0);
  });
});

describe("real comments", () => {
  test("a resume that overlaps what the page has drops the duplicates", () => {
    const store = new LiveStore("1");
    store.applyBatch([comment(1), comment(2)]);
    const added = store.applyBatch([comment(2), comment(3)]);
    assert.deepEqual(added.map((c) => c.id), ["3"]);
    assert.deepEqual(store.comments.map((c) => c.id), ["1", "2", "3"]);
    assert.equal(store.lastSeenCommentId, "3");
  });

  test("batches from different gateways are shown in id order", () => {
    const store = new LiveStore("1");
    store.applyBatch([comment(10), comment(30)]);
    store.applyBatch([comment(20)]);
    assert.deepEqual(store.comments.map((c) => c.id), ["10", "20", "30"]);
    assert.equal(store.lastSeenCommentId, "30");
  });

  test("only the newest comments are kept", () => {
    const store = new LiveStore("1");
    const many = Array.from({ length: COMMENT_LIMIT + 20 }, (_, i) => comment(i + 1));
    store.applyBatch(many);
    assert.equal(store.comments.length, COMMENT_LIMIT);
    assert.equal(store.comments[0].id, "21");
    assert.equal(store.findComment("1"), null);
  });

  test("moderation updates, removals and pins apply to what is shown", () => {
    const store = new LiveStore("1");
    store.applyStreamState({ streamId: "1", title: "T", status: "live", viewerCount: 3, pinnedComments: [] });
    store.applyBatch([comment(1), comment(2)]);
    store.applyCommentUpdated(comment(2, { isPinned: true, isHighlighted: true }));
    assert.equal(store.pinned[0].id, "2");
    assert.equal(store.findComment("2").isHighlighted, true);
    store.applyCommentUpdated(comment(2, { isPinned: false }));
    assert.deepEqual(store.pinned, []);
    store.applyRemoved(["1"]);
    assert.deepEqual(store.comments.map((c) => c.id), ["2"]);
  });

  test("an ended stream refuses new comments and rejects the pending ones", () => {
    const store = new LiveStore("1");
    composed(store);
    store.applyStreamEnded();
    assert.deepEqual(statuses(store), ["rejected"]);
    assert.equal(store.optimistic[0].code, "STREAM_ENDED");
    const result = store.compose({ content: "late", parentId: null, idempotencyKey: key(), now: 0 });
    assert.deepEqual(result, { ok: false, reason: REASONS.STREAM_ENDED });
  });
});

describe("optimistic comments and reconciliation", () => {
  test("a composed comment is sent once and shown as sending", () => {
    const store = new LiveStore("1");
    const entry = composed(store);
    assert.deepEqual(store.dueForSending(0), [entry]);
    assert.deepEqual(store.dueForSending(0), [], "not sent again while its ack is awaited");
    assert.equal(entry.status, "sending");
    assert.equal(store.displayItems().at(-1).optimistic, entry);
  });

  test("blank and overlong comments are refused before sending, with the server's limit", () => {
    const store = new LiveStore("1");
    const draft = (content) => ({ content, parentId: null, idempotencyKey: key(), now: 0 });
    assert.equal(store.compose(draft("   ")).ok, false);
    const overlong = store.compose(draft("x".repeat(MAX_CONTENT_CHARS + 1)));
    assert.deepEqual(overlong, { ok: false, reason: REASONS.INVALID_MESSAGE });
    assert.match(overlong.reason, new RegExp(`\\b${MAX_CONTENT_CHARS}\\b`));
    assert.equal(store.compose(draft(` ${"é".repeat(MAX_CONTENT_CHARS)} `)).ok, true, "counted after trimming");
  });

  test("an accepted comment takes its real place when the comment arrives", () => {
    const store = new LiveStore("1");
    store.applyBatch([comment(5)]);
    const entry = composed(store);
    store.dueForSending(0);
    store.applyAck({ idempotencyKey: entry.idempotencyKey, commentId: "9", status: "accepted" }, 0);
    assert.equal(entry.status, "sent");
    store.applyBatch([comment(7)]);
    assert.deepEqual(store.displayItems().map((item) => item.key), ["5", "7", `pending:${entry.idempotencyKey}`]);
    store.applyBatch([comment(9)]);
    assert.deepEqual(store.optimistic, []);
    assert.deepEqual(store.displayItems().map((item) => item.key), ["5", "7", "9"]);
  });

  test("an ack for a comment that already arrived leaves no duplicate", () => {
    const store = new LiveStore("1");
    const entry = composed(store);
    store.dueForSending(0);
    store.applyBatch([comment(9)]);
    store.applyAck({ idempotencyKey: entry.idempotencyKey, commentId: "9", status: "accepted" }, 0);
    assert.deepEqual(store.displayItems().map((item) => item.key), ["9"]);
  });

  test("a rejected comment shows its reason and is not retried", () => {
    const store = new LiveStore("1");
    const entry = composed(store);
    store.dueForSending(0);
    store.applyAck(
      { idempotencyKey: entry.idempotencyKey, commentId: null, status: "rejected", code: "CONTENT_VIOLATION" },
      0,
    );
    assert.equal(entry.status, "rejected");
    assert.equal(REASONS[entry.code], "This comment breaks the stream's rules.");
    assert.deepEqual(store.dueForSending(60_000), []);
  });

  test("an unavailable server keeps the comment and retries it with backoff", () => {
    const store = new LiveStore("1");
    const entry = composed(store);
    store.dueForSending(0);
    store.applyAck({ idempotencyKey: entry.idempotencyKey, commentId: null, status: "rejected", code: "UNAVAILABLE" }, 0);
    assert.equal(entry.status, "retrying");
    assert.deepEqual(store.dueForSending(999), []);
    assert.deepEqual(store.dueForSending(1000), [entry]);
    assert.equal(entry.attempts, 2);
  });
});

describe("rate limit cooldown", () => {
  test("counts down, holds every post back, then retries the limited comment", () => {
    const store = new LiveStore("1");
    const limited = composed(store);
    store.dueForSending(0);
    store.applyAck(
      { idempotencyKey: limited.idempotencyKey, commentId: null, status: "rate_limited", code: "RATE_LIMITED", retryAfter: 5 },
      0,
    );
    assert.equal(store.cooldownSeconds(0), 5);
    assert.equal(store.cooldownSeconds(1), 5);
    assert.equal(store.cooldownSeconds(4001), 1);
    assert.equal(store.cooldownSeconds(5000), 0);
    composed(store, 1000, "written during the cooldown");
    assert.deepEqual(store.dueForSending(4999), []);
    const due = store.dueForSending(5000);
    assert.equal(due.length, 2);
    assert.equal(due[0], limited);
    assert.equal(limited.attempts, 2);
  });
});

describe("pending queue", () => {
  test("holds at most ten comments waiting to be sent", () => {
    const store = new LiveStore("1");
    for (let i = 0; i < MAX_PENDING; i++) composed(store);
    const result = store.compose({ content: "one too many", parentId: null, idempotencyKey: key(), now: 0 });
    assert.equal(result.ok, false);
    assert.match(result.reason, /At most 10/);
  });

  test("a lost connection resends what had no ack, as a retry", () => {
    const store = new LiveStore("1");
    const entry = composed(store);
    store.dueForSending(0);
    store.connectionLost();
    assert.equal(store.status, "reconnecting");
    assert.deepEqual(store.dueForSending(1000), [entry]);
    assert.equal(entry.attempts, 2);
  });

  test("fails a comment after three retries", () => {
    const store = new LiveStore("1");
    const entry = composed(store);
    for (let send = 1; send <= 4; send++) {
      assert.deepEqual(store.dueForSending(send), [entry], `send ${send}`);
      store.connectionLost();
    }
    assert.deepEqual(store.dueForSending(5), []);
    assert.equal(entry.status, "failed");
  });

  test("fails a comment older than five minutes instead of posting it late", () => {
    const store = new LiveStore("1");
    const entry = composed(store, 0);
    assert.deepEqual(store.dueForSending(PENDING_MAX_AGE_MS + 1), []);
    assert.equal(entry.status, "failed");
  });

  test("survives a reload through storage, keeping its key and tries", () => {
    const storage = new MemoryStorage();
    const before = new LiveStore("1");
    const entry = composed(before, 100);
    before.dueForSending(100);
    new PendingStorage(storage, "1", "7").save(before.pendingForStorage());

    const after = new LiveStore("1");
    after.restorePending(new PendingStorage(storage, "1", "7").load());
    const [restored] = after.dueForSending(200);
    assert.equal(restored.idempotencyKey, entry.idempotencyKey);
    assert.equal(restored.attempts, 2);
    assert.deepEqual(new PendingStorage(storage, "1", "8").load(), [], "another user's queue is separate");
  });

  test("an emptied queue is removed from storage and corrupt storage is ignored", () => {
    const storage = new MemoryStorage();
    const pending = new PendingStorage(storage, "1", "7");
    pending.save([]);
    assert.equal(storage.items.size, 0);
    storage.setItem(pending.key, "{not json");
    assert.deepEqual(pending.load(), []);
  });
});

describe("reconnect backoff", () => {
  test("doubles from one second up to thirty", () => {
    const noJitter = () => 0;
    const delays = [0, 1, 2, 3, 4, 5, 6, 10].map((attempt) => reconnectDelay(attempt, noJitter));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  test("jitter only shortens the wait, by at most a fifth", () => {
    assert.equal(reconnectDelay(0, () => 0.999999), 800);
    assert.equal(reconnectDelay(10, () => 0.5), 27000);
  });
});

describe("recovering lost batches", () => {
  test("a resume asks from five seconds before the newest comment seen", () => {
    // Ids laid out as comments/snowflake.py makes them: a later clock, the same worker and sequence.
    const madeAt = (unixMs) =>
      ((BigInt(unixMs - SNOWFLAKE.epochMs) << BigInt(SNOWFLAKE.workerBits + SNOWFLAKE.sequenceBits)) |
        (3n << BigInt(SNOWFLAKE.sequenceBits)) |
        5n).toString();
    const newest = Date.UTC(2025, 0, 1);
    assert.equal(RESUME_OVERLAP_MS, 5000);
    assert.equal(resumeAfter(madeAt(newest)), madeAt(newest - RESUME_OVERLAP_MS));
    assert.equal(resumeAfter("12"), "0");
    assert.equal(resumeAfter(null), null);
  });

  test("a jump in a gateway's batch numbers is a gap; other gateways count apart", () => {
    const store = new LiveStore("1");
    assert.equal(store.noteBatchSeq("a", 7), false);
    assert.equal(store.noteBatchSeq("a", 8), false);
    assert.equal(store.noteBatchSeq("b", 3), false);
    assert.equal(store.noteBatchSeq("a", 10), true);
    assert.equal(store.noteBatchSeq("b", 4), false);
    assert.equal(store.noteBatchSeq(null, null), false);
  });
});

describe("a ban or timeout", () => {
  const state = (restriction) => ({
    streamId: "1", title: "t", status: "live", viewerCount: 1, pinnedComments: [], restriction,
  });
  const at = (ms) => `at ${ms}`;

  test("a timeout says until when and why, and stops applying at its end by itself", () => {
    const store = new LiveStore("1");
    store.applyStreamState(state({ code: "BANNED", until: 60_000, reason: "spam" }));

    assert.equal(store.restrictionText(59_999, at), "Timed out until at 60000 — spam");
    assert.equal(store.compose({ content: "hi", parentId: null, idempotencyKey: key(), now: 59_999 }).ok, false);
    assert.equal(store.restrictionText(60_000, at), "");
    assert.equal(store.compose({ content: "hi", parentId: null, idempotencyKey: key(), now: 60_000 }).ok, true);
  });

  test("a ban until lifted says so, and a restriction_changed lifts it", () => {
    const store = new LiveStore("1");
    store.applyStreamState(state({ code: "BANNED", until: null, reason: null }));

    assert.equal(store.restrictionText(Date.now()), REASONS.BANNED);
    store.applyRestriction(null);
    assert.equal(store.restrictionText(Date.now()), "");
  });
});

describe("chat modes", () => {
  test("the modes a moderator turns on are said in words, and none says nothing", () => {
    const store = new LiveStore("1");
    const settings = {
      slowModeSeconds: 0, locked: false, minAccountAgeMinutes: 0, holdLinks: false, shield: false,
    };
    store.applyStreamState({
      streamId: "1", title: "t", status: "live", viewerCount: 1, pinnedComments: [],
      restriction: null, settings,
    });
    assert.equal(store.modesText(), "");

    store.applySettings({ ...settings, slowModeSeconds: 30, locked: true, minAccountAgeMinutes: 1440 });

    assert.equal(
      store.modesText(),
      "Chat is locked to moderators. Slow mode: one comment every 30 s. " +
        "Accounts newer than 1 day can't comment.",
    );
  });
});

describe("a comment held for review", () => {
  function heldStore() {
    const store = new LiveStore("1");
    const entry = composed(store);
    store.applyAck({ idempotencyKey: entry.idempotencyKey, commentId: "42", status: "held" }, 0);
    return { store, entry };
  }

  test("stays with its author, marked held, and counts as settled", () => {
    const { store, entry } = heldStore();

    assert.equal(entry.status, "held");
    assert.equal(store.unresolved().length, 0);
    assert.equal(store.displayItems().at(-1).optimistic, entry);
  });

  test("denied, it is marked so; approved, it goes out as sent", () => {
    const denied = heldStore();
    denied.store.applyReviewed({ streamId: "1", commentId: "42", decision: "denied" });
    assert.equal(denied.entry.status, "denied");

    const approved = heldStore();
    approved.store.applyReviewed({ streamId: "1", commentId: "42", decision: "approved" });
    assert.equal(approved.entry.status, "sent");
  });
});

describe("reaction counts", () => {
  test("the join's totals, plus each interval's counts", () => {
    const store = new LiveStore("1");
    store.applyStreamState({
      streamId: "1", title: "t", status: "live", viewerCount: 1, pinnedComments: [],
      reactionTotals: { like: 3 }, restriction: null, settings: null,
    });
    store.applyReactions({ like: 2, love: 1, wow: 0 });
    assert.deepEqual(store.reactionTotals, { like: 5, love: 1 });
  });

  test("a rejoin takes the server's totals again rather than adding them twice", () => {
    const store = new LiveStore("1");
    const state = {
      streamId: "1", title: "t", status: "live", viewerCount: 1, pinnedComments: [],
      reactionTotals: { haha: 4 }, restriction: null, settings: null,
    };
    store.applyStreamState(state);
    store.applyReactions({ haha: 1 });
    store.applyStreamState({ ...state, reactionTotals: { haha: 5 } });
    assert.deepEqual(store.reactionTotals, { haha: 5 });
  });
});

describe("the composer's counter", () => {
  test("counts what the server counts: trimmed, by code point", async () => {
    const { charactersLeft } = await import("../../static/livecomments/store.js");
    assert.deepEqual(charactersLeft("  hi  "), { left: MAX_CONTENT_CHARS - 2, tooLong: "" });
    assert.equal(charactersLeft("😀".repeat(MAX_CONTENT_CHARS)).left, 0);
    assert.equal(charactersLeft("😀".repeat(MAX_CONTENT_CHARS)).tooLong, "");
  });

  test("over the limit it says by how much, so Send can say why it is off", async () => {
    const { charactersLeft } = await import("../../static/livecomments/store.js");
    const over = charactersLeft("x".repeat(MAX_CONTENT_CHARS + 12));
    assert.equal(over.left, -12);
    assert.equal(over.tooLong, `12 characters too many: comments are at most ${MAX_CONTENT_CHARS}.`);
    assert.match(charactersLeft("x".repeat(MAX_CONTENT_CHARS + 1)).tooLong, /^1 character too many/);
  });
});

describe("pinned comments", () => {
  const state = (pinnedComments) => ({
    streamId: "1", title: "t", status: "live", viewerCount: 1, pinnedComments,
    reactionTotals: {}, restriction: null, settings: null,
  });

  test("a viewer present at the pinning and one who joined later see the same order", () => {
    const present = new LiveStore("1");
    present.applyStreamState(state([]));
    present.applyCommentUpdated(comment(5, { isPinned: true }));
    present.applyCommentUpdated(comment(3, { isPinned: true }));
    present.applyCommentUpdated(comment(9, { isPinned: true }));
    const later = new LiveStore("1");
    later.applyStreamState(state([comment(3, { isPinned: true }), comment(9, { isPinned: true }), comment(5, { isPinned: true })]));
    assert.deepEqual(present.pinned.map((c) => c.id), ["9", "5", "3"]);
    assert.deepEqual(later.pinned.map((c) => c.id), ["9", "5", "3"]);
  });

  test("an unpin or an update keeps the order", () => {
    const store = new LiveStore("1");
    store.applyStreamState(state([comment(3, { isPinned: true }), comment(9, { isPinned: true })]));
    store.applyCommentUpdated(comment(3, { isPinned: true, content: "edited" }));
    assert.deepEqual(store.pinned.map((c) => c.id), ["9", "3"]);
    store.applyCommentUpdated(comment(9, { isPinned: false }));
    assert.deepEqual(store.pinned.map((c) => c.id), ["3"]);
  });
});
