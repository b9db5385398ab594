import assert from "node:assert/strict";
import { test } from "node:test";

import { LiveConnection } from "../../static/livecomments/connection.js";

/** A WebSocket stand-in the test opens, feeds and closes by hand. */
class FakeSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.onopen = this.onmessage = this.onclose = null;
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
    this.onclose?.({});
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

function harness() {
  const sockets = [];
  const timers = [];
  const frames = [];
  const waits = [];
  let lastSeenCommentId = null;
  const connection = new LiveConnection({
    url: "ws://example.test/ws/live/",
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    joinPayload: () => ({ streamId: "1", lastSeenCommentId }),
    onFrame: (frame) => frames.push(frame),
    onDisconnect: (delay) => waits.push(delay),
    setTimer: (callback, ms) => {
      timers.push({ callback, ms });
      return timers.length - 1;
    },
    clearTimer: (handle) => {
      timers[handle] = null;
    },
    random: () => 0,
  });
  return {
    connection, sockets, timers, frames, waits,
    setLastSeen: (id) => { lastSeenCommentId = id; },
    fireLatestTimer: () => timers.at(-1).callback(),
  };
}

test("joins on open and resumes from the last seen comment after a drop", () => {
  const h = harness();
  h.connection.start();
  h.sockets[0].open();
  assert.deepEqual(h.sockets[0].sent, [{ type: "join_stream", payload: { streamId: "1", lastSeenCommentId: null } }]);
  h.sockets[0].receive({ type: "viewer_count", payload: { streamId: "1", count: 2 } });
  assert.equal(h.frames[0].payload.count, 2);

  h.setLastSeen("42");
  h.sockets[0].close();
  assert.deepEqual(h.waits, [1000]);
  h.fireLatestTimer();
  h.sockets[1].open();
  assert.deepEqual(h.sockets[1].sent[0].payload, { streamId: "1", lastSeenCommentId: "42" });
});

test("backs off 1 s, 2 s, 4 s while the server is down and starts over after a join", () => {
  const h = harness();
  h.connection.start();
  for (let i = 0; i < 3; i++) {
    h.sockets.at(-1).close();
    h.fireLatestTimer();
  }
  assert.deepEqual(h.waits, [1000, 2000, 4000]);
  h.sockets.at(-1).open();
  h.connection.joined();
  h.sockets.at(-1).close();
  assert.deepEqual(h.waits.at(-1), 1000);
});

test("reconnects at once when asked, and never after being stopped", () => {
  const h = harness();
  h.connection.start();
  h.sockets[0].close();
  h.connection.reconnectNow();
  assert.equal(h.sockets.length, 2);
  assert.equal(h.timers[0], null, "the backoff timer was cancelled");
  h.connection.stop();
  assert.equal(h.waits.length, 1, "closing a stopped connection schedules nothing");
});

test("sends nothing while the socket is not open and ignores frames that are not JSON", () => {
  const h = harness();
  h.connection.start();
  assert.equal(h.connection.send({ type: "leave_stream", payload: {} }), false);
  h.sockets[0].open();
  h.sockets[0].onmessage({ data: "not json" });
  assert.deepEqual(h.frames, []);
});

test("joins again after the backoff when the server refuses a join for now", () => {
  const h = harness();
  h.connection.start();
  h.sockets[0].open();
  h.setLastSeen("42");

  h.connection.joinRefused();
  assert.equal(h.timers.at(-1).ms, 1000);
  h.connection.joinRefused(); // a second refusal while waiting schedules nothing more
  assert.equal(h.timers.length, 1);
  h.fireLatestTimer();
  assert.deepEqual(h.sockets[0].sent.at(-1), {
    type: "join_stream",
    payload: { streamId: "1", lastSeenCommentId: "42" },
  });

  h.connection.joinRefused();
  assert.equal(h.timers.at(-1).ms, 2000, "refused again: the backoff grows");
  h.fireLatestTimer();
  h.connection.joined();
  h.connection.joinRefused(); // an error once joined is not about the join
  assert.equal(h.timers.length, 2);
});

test("a refused join waiting for its retry gives way to a reconnect", () => {
  const h = harness();
  h.connection.start();
  h.sockets[0].open();
  h.connection.joinRefused();
  const retry = h.timers.length - 1;
  h.sockets[0].close();
  assert.equal(h.timers[retry], null, "the retry was cancelled: the next open joins");
});
