import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { EDIT_WINDOW_MS, LiveStore, ownChoices } from "../../static/livecomments/store.js";
import { comment, key } from "./helpers.js";

const POSTED = Date.parse("2025-01-01T00:00:00Z");

describe("own comments: the ⋮ menu", () => {
  test("the author may edit within five minutes and delete always", () => {
    const mine = comment(1, { userId: "7" });
    const early = ownChoices(mine, "7", POSTED + EDIT_WINDOW_MS - 1).map((choice) => choice.action);
    const late = ownChoices(mine, "7", POSTED + EDIT_WINDOW_MS).map((choice) => choice.action);
    assert.deepEqual(early, ["edit", "delete"]);
    assert.deepEqual(late, ["delete"]);
  });

  test("a delete asks to confirm first", () => {
    const remove = ownChoices(comment(1), "7", POSTED).find((choice) => choice.action === "delete");
    assert.ok(remove?.confirm);
  });

  test("someone else's comment and an anonymous viewer get no edit or delete", () => {
    assert.deepEqual(ownChoices(comment(1, { userId: "8" }), "7", POSTED), []);
    assert.deepEqual(ownChoices(comment(1), null, POSTED), []);
  });
});

describe("own comments: edits and deletes", () => {
  test("an edit is trimmed, refused when blank, and answered by its ack", () => {
    const store = new LiveStore("1");
    store.applyBatch([comment(1)]);
    assert.equal(store.edit(comment(1), "   ", { idempotencyKey: key() }).ok, false);
    const result = store.edit(comment(1), "  better  ", { idempotencyKey: key() });
    assert.equal(result.ok, true);
    assert.equal(result.payload.content, "better");
    assert.equal(result.payload.commentId, "1");
    assert.deepEqual(store.unansweredOwnRequests().map((request) => request.kind), ["edit"]);
    const text = store.applyOwnAck({ idempotencyKey: result.payload.idempotencyKey, commentId: "1", status: "accepted" });
    assert.equal(text, "Your comment was edited.");
    assert.deepEqual(store.unansweredOwnRequests(), []);
  });

  test("a held edit marks the comment until the approved text arrives", () => {
    const store = new LiveStore("1");
    store.applyBatch([comment(1, { editedAt: null })]);
    const { payload } = store.edit(comment(1), "with a link", { idempotencyKey: key() });
    const text = store.applyOwnAck({ idempotencyKey: payload.idempotencyKey, commentId: "1", status: "held" });
    assert.match(text, /^Edit held for review/);
    assert.equal(store.editHeld("1"), true);
    assert.equal(store.findComment("1").content, "comment 1", "the old text stays");

    store.applyCommentUpdated(comment(1, { content: "with a link", editedAt: 5_000 }));
    assert.equal(store.editHeld("1"), false);
    assert.equal(store.findComment("1").content, "with a link");
  });

  test("an edit after the window is refused with the reason", () => {
    const store = new LiveStore("1");
    const { payload } = store.edit(comment(1), "too late", { idempotencyKey: key() });
    const text = store.applyOwnAck({ idempotencyKey: payload.idempotencyKey, commentId: null, status: "rejected", code: "FORBIDDEN" });
    assert.match(text, /5 minutes/);
  });

  test("an accepted delete takes the comment out at once", () => {
    const store = new LiveStore("1");
    store.applyBatch([comment(1), comment(2)]);
    const payload = store.deleteComment(comment(1), { idempotencyKey: key() });
    assert.deepEqual(payload, { streamId: "1", commentId: "1", idempotencyKey: payload.idempotencyKey });
    const text = store.applyOwnAck({ idempotencyKey: payload.idempotencyKey, commentId: "1", status: "accepted" });
    assert.equal(text, "Your comment was deleted.");
    assert.deepEqual(store.comments.map((c) => c.id), ["2"]);
  });

  test("an ack for something else is left to the other handlers", () => {
    const store = new LiveStore("1");
    assert.equal(store.applyOwnAck({ idempotencyKey: key(), commentId: "1", status: "accepted" }), null);
  });
});
