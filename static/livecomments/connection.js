// @ts-check
/**
 * One WebSocket per page (the seed's Step 5): join on every open, resume from what the
 * page already has, and reconnect with exponential backoff when the socket closes; a join
 * the server refuses for now is sent again after the same backoff.
 * The socket factory and timers are injected so tests drive it without a network.
 */

import { reconnectDelay } from "./store.js";

/**
 * @typedef {import('./protocol').ClientFrame} ClientFrame
 * @typedef {import('./protocol').ServerFrame} ServerFrame
 * @typedef {import('./protocol').JoinStreamPayload} JoinStreamPayload
 *
 * @typedef {object} SocketLike the part of the browser's WebSocket used here
 * @property {number} readyState
 * @property {(data: string) => void} send
 * @property {() => void} close
 * @property {((event: any) => void) | null} onopen
 * @property {((event: any) => void) | null} onmessage a MessageEvent in the browser
 * @property {((event: any) => void) | null} onclose
 *
 * @typedef {object} ConnectionOptions
 * @property {string} url
 * @property {(url: string) => SocketLike} createSocket
 * @property {() => JoinStreamPayload} joinPayload read at each open, so it carries the latest lastSeenCommentId
 * @property {(frame: ServerFrame) => void} onFrame
 * @property {(delayMs: number) => void} onDisconnect called with the wait before the next attempt
 * @property {(callback: () => void, ms: number) => any} [setTimer]
 * @property {(handle: any) => void} [clearTimer]
 * @property {() => number} [random]
 */

const OPEN = 1;

export class LiveConnection {
  /** @param {ConnectionOptions} options */
  constructor(options) {
    this.options = options;
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle));
    /** @type {SocketLike | null} */
    this.socket = null;
    /** Failed attempts since the last successful join; drives the backoff. */
    this.attempt = 0;
    this.reconnectTimer = null;
    /** A join sent and not yet answered with its backfill. */
    this.joinPending = false;
    this.rejoinTimer = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** Close for good (the page is going away). */
  stop() {
    this.stopped = true;
    if (this.reconnectTimer !== null) this.clearTimer(this.reconnectTimer);
    this.reconnectTimer = null;
    this.cancelRejoin();
    this.socket?.close();
  }

  /**
   * The server answered the join with its backfill: the connection works, so the next
   * outage starts the backoff from 1 s again. (Resetting on open instead would let a
   * server that accepts and then drops every socket be hammered once a second.)
   */
  joined() {
    this.attempt = 0;
    this.joinPending = false;
  }

  /**
   * The server refused a join for now (`UNAVAILABLE`: Redis or the database is back in a
   * moment). Join again after the backoff: otherwise the page would miss, until the next
   * reconnect, what the join was to resume.
   */
  joinRefused() {
    if (!this.joinPending || this.rejoinTimer !== null || this.stopped) return;
    const delay = reconnectDelay(this.attempt, this.options.random);
    this.attempt += 1;
    this.rejoinTimer = this.setTimer(() => {
      this.rejoinTimer = null;
      this.rejoin();
    }, delay);
  }

  cancelRejoin() {
    if (this.rejoinTimer !== null) this.clearTimer(this.rejoinTimer);
    this.rejoinTimer = null;
  }

  /** Skip the rest of the backoff wait, e.g. when the browser comes back online. */
  reconnectNow() {
    if (this.reconnectTimer === null || this.stopped) return;
    this.clearTimer(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect();
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === OPEN;
  }

  /** @param {ClientFrame} frame @returns {boolean} whether it went out */
  send(frame) {
    if (!this.socket || !this.isOpen) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Join again on the open socket: the server answers with state and a resume backfill. */
  rejoin() {
    this.cancelRejoin();
    this.joinPending = this.send({ type: "join_stream", payload: this.options.joinPayload() });
  }

  connect() {
    this.reconnectTimer = null;
    const socket = this.options.createSocket(this.options.url);
    this.socket = socket;
    socket.onopen = () => this.rejoin();
    socket.onmessage = (event) => {
      /** @type {ServerFrame} */
      let frame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return; // Not our protocol; one bad frame must not break the page.
      }
      this.options.onFrame(frame);
    };
    socket.onclose = () => {
      // A stale socket (replaced by reconnectNow) closing late must not schedule twice.
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      // The next open joins anyway.
      this.cancelRejoin();
      this.joinPending = false;
      const delay = reconnectDelay(this.attempt, this.options.random);
      this.attempt += 1;
      this.reconnectTimer = this.setTimer(() => this.connect(), delay);
      this.options.onDisconnect(delay);
    };
  }
}
