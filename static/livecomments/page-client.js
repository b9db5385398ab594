// @ts-check
/**
 * What a live page's client does the same way on every page: read the page's config, open
 * the one socket joined to the stream (resumed from what the store holds), and apply the
 * frames whose effect on the store does not depend on the page. The page adds its own
 * handling of each frame after this part (`onFrame`) and draws at most once a frame
 * (`oncePerFrame`). The stream page (app.js) is built on it.
 */

import { LiveConnection } from "./connection.js";
import { resumeAfter } from "./store.js";

/**
 * @typedef {import('./protocol').ServerFrame} ServerFrame
 * @typedef {import('./protocol').CommentOut} Comment
 * @typedef {import('./store.js').LiveStore} LiveStore
 *
 * @typedef {object} PageClientOptions
 * @property {LiveStore} store
 * @property {string} streamId
 * @property {string} socketPath
 * @property {() => boolean} moderating whether to join as a moderating socket, read at each join
 * @property {(frame: ServerFrame, added: Comment[], now: number) => void} onFrame the page's
 *   own handling of a frame, after the shared part; `added` is what a comments_batch added
 * @property {() => void} onDisconnect the socket closed; `reconnectAt` says when it tries again
 */

/**
 * The page's config, JSON in a `<script type="application/json">` (Django's json_script).
 * @param {string} id
 */
export function readConfig(id) {
  const script = document.getElementById(id);
  if (!script?.textContent) throw new Error(`live comments: the page has no #${id}`);
  return JSON.parse(script.textContent);
}

/** A v4 UUID; crypto.randomUUID exists only on https and localhost pages. */
export function newIdempotencyKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** @param {string} path the socket's path on this page's host */
export function socketUrl(path) {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
}

/**
 * `draw` at most once per animation frame however often this is called: a burst of frames
 * from the socket costs one pass over the DOM, done when the browser is about to paint.
 * @param {() => void} draw
 */
export function oncePerFrame(draw) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      draw();
    });
  };
}

export class PageClient {
  /** @param {PageClientOptions} options */
  constructor(options) {
    this.options = options;
    this.store = options.store;
    /** Joined: the stream_state of the current socket has arrived. */
    this.joined = false;
    /** When the next connection attempt is due (ms), while reconnecting. */
    this.reconnectAt = 0;
    /** Real comments added since the page last drew its list (`takeArrived`). */
    this.arrived = 0;
    this.connection = new LiveConnection({
      url: socketUrl(options.socketPath),
      createSocket: (url) => new WebSocket(url),
      joinPayload: () => ({
        streamId: options.streamId,
        lastSeenCommentId: resumeAfter(this.store.lastSeenCommentId),
        ...(options.moderating() ? { moderate: true } : {}),
      }),
      onFrame: (frame) => this.handle(frame),
      onDisconnect: (delay) => {
        this.joined = false;
        this.reconnectAt = Date.now() + delay;
        this.store.connectionLost();
        options.onDisconnect();
      },
    });
  }

  /** @param {ServerFrame} frame */
  handle(frame) {
    const now = Date.now();
    const store = this.store;
    /** @type {Comment[]} */
    let added = [];
    switch (frame.type) {
      case "stream_state":
        store.applyStreamState(frame.payload);
        this.joined = true;
        break;
      case "comments_batch":
        added = store.applyBatch(frame.payload.comments);
        if (frame.payload.isBackfill) this.connection.joined();
        // A batch lost on the way: join again, which resumes from what the store has.
        if (store.noteBatchSeq(frame.payload.gatewayId, frame.payload.seq)) this.connection.rejoin();
        this.arrived += added.length;
        break;
      case "viewer_count":
        store.viewerCount = frame.payload.count;
        break;
      case "comment_updated":
        store.applyCommentUpdated(frame.payload.comment);
        break;
      case "comments_removed":
        store.applyRemoved(frame.payload.commentIds);
        break;
      case "stream_settings":
        store.applySettings(frame.payload.settings);
        break;
      case "stream_ended":
        store.applyStreamEnded();
        break;
    }
    this.options.onFrame(frame, added, now);
  }

  /** The count of real comments added since the last call: the list's "N new" figure. */
  takeArrived() {
    const arrived = this.arrived;
    this.arrived = 0;
    return arrived;
  }
}
