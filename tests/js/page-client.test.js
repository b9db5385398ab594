import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { LiveStore } from "../../static/livecomments/store.js";
import { comment } from "./helpers.js";

// page-client.js builds the socket's address from the page's location.
globalThis.location = { protocol: "http:", host: "example.test" };
const { PageClient } = await import("../../static/livecomments/page-client.js");

function client() {
  const seen = [];
  const store = new LiveStore("1");
  const page = new PageClient({
    store,
    streamId: "1",
    socketPath: "/ws/live/",
    moderating: () => false,
    onFrame: (frame, added) => seen.push([frame.type, added.map((c) => c.id)]),
    onDisconnect: () => {},
  });
  return { page, store, seen };
}

describe("the page client's shared part of each frame", () => {
  test("the join and its backfill reach the store before the page's own part", () => {
    const { page, store, seen } = client();
    assert.equal(page.connection.options.url, "ws://example.test/ws/live/");
    page.handle({
      type: "stream_state",
      payload: { streamId: "1", title: "T", status: "live", viewerCount: 3, pinnedComments: [] },
    });
    assert.equal(page.joined, true);
    assert.equal(store.viewerCount, 3);
    page.handle({
      type: "comments_batch",
      payload: { streamId: "1", comments: [comment(1), comment(2)], isBackfill: true },
    });
    assert.deepEqual(seen, [["stream_state", []], ["comments_batch", ["1", "2"]]]);
    assert.equal(page.takeArrived(), 2);
    assert.equal(page.takeArrived(), 0);
  });

  test("updates and removals apply to the store; frames it does not know go to the page", () => {
    const { page, store, seen } = client();
    page.handle({ type: "comments_batch", payload: { streamId: "1", comments: [comment(5)], isBackfill: false } });
    page.handle({ type: "comment_updated", payload: { streamId: "1", comment: comment(5, { content: "edited" }) } });
    assert.equal(store.findComment("5")?.content, "edited");
    page.handle({ type: "comments_removed", payload: { streamId: "1", commentIds: ["5"] } });
    assert.equal(store.findComment("5"), null);
    page.handle({ type: "stream_ended", payload: { streamId: "1" } });
    assert.equal(store.status, "ended");
    const ack = { idempotencyKey: "k", commentId: null, status: "rejected", code: "BANNED" };
    page.handle({ type: "ack", payload: ack });
    assert.deepEqual(seen.map(([type]) => type), ["comments_batch", "comment_updated", "comments_removed", "stream_ended", "ack"]);
  });
});
