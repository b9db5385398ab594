// @ts-check
/**
 * The live moderation console (`/moderate/<stream id>/`, templates/moderation/console.html):
 * the stream's whole feed on a moderating socket (`join_stream` with `moderate: true`),
 * one-click and keyboard actions on every comment, the held-for-review queue, the
 * viewers' reports, the chat settings, and a user card.
 *
 * It is built like the stream page: PageClient (page-client.js) for the socket and the
 * frames every live page applies alike, LiveStore for the comments (capped, ordered,
 * resumed) and StreamView for the keyed list that keeps the reader's place. What differs
 * is kept here: a hidden comment stays in the feed, struck through, so that it can be
 * unhidden (ConsoleStore's overrides, which PageClient calls like any store's); each row
 * carries the moderation actions; the console's own frames (the held queue, the reports).
 * Every action is authorised again by the server; the page only shows what it answered.
 */

import { startTermsPanel } from "./console-terms.js";
import { PageClient, newIdempotencyKey, oncePerFrame, readConfig } from "./page-client.js";
import { REASONS } from "./protocol.js";
import { LiveStore, REPORT_REASONS, compareIds } from "./store.js";
import { StreamView } from "./view.js";

/**
 * @typedef {import('./protocol').ServerFrame} ServerFrame
 * @typedef {import('./protocol').CommentOut} Comment
 * @typedef {import('./protocol').AckPayload} Ack
 * @typedef {import('./protocol').ModeratePayload} ModeratePayload
 * @typedef {import('./protocol').StreamSettings} StreamSettings
 * @typedef {import('./protocol').Restriction} Restriction
 * @typedef {import('./protocol').HeldComment} HeldComment
 * @typedef {import('./protocol').Report} Report
 * @typedef {import('./protocol').ModerationStatePayload} ModerationState
 * @typedef {import('./protocol').CommentReviewedPayload} Reviewed
 * @typedef {import('./store.js').DisplayItem} DisplayItem
 * @typedef {import('./store.js').ReportReason} ReportReason
 *
 * @typedef {object} ConsoleConfig
 * @property {string} streamId
 * @property {string} socketPath
 * @property {{id: string, username: string}} user
 * @property {string} usersUrl the card of user N is usersUrl + "N/", their note usersUrl + "N/note/"
 * @property {boolean} keepsNotes
 * @property {import('./console-terms.js').TermsConfig | null} terms null for a host: moderators keep the terms
 * @property {string} csrfToken
 *
 * @typedef {Omit<ModeratePayload, 'streamId' | 'idempotencyKey'>} Action
 *
 * @typedef {object} PendingAction
 * @property {ModeratePayload} payload
 * @property {string} label what the moderator did, in words
 * @property {HTMLLIElement} logEntry
 *
 * @typedef {object} UserCard
 * @property {{id: string, username: string, dateJoined: string, accountAgeMinutes: number, isHost: boolean}} user
 * @property {Restriction | null} restriction
 * @property {number} commentCount
 * @property {number} hiddenCount
 * @property {{id: string, content: string, createdAt: string, isHidden: boolean, isPinned: boolean, isHighlighted: boolean}[]} comments
 * @property {{kind: string, at: string, by: string | null, reason: string, until: string | null, siteWide: boolean, stream: string | null, commentId: string | null}[]} history
 * @property {{text: string, updatedBy: string | null, updatedAt: string | null} | null} note
 */

/** The one-click timeouts on every comment and on the card, in seconds. */
const TIMEOUTS = [
  { seconds: 60, label: "1m" },
  { seconds: 600, label: "10m" },
  { seconds: 3600, label: "1h" },
  { seconds: 86400, label: "24h" },
];
/** T on a focused comment: the timeout moderators reach for most. */
const KEY_TIMEOUT_SECONDS = 600;
/** The comment rate counts the comments of this window. */
export const RATE_WINDOW_MS = 60_000;
/** Entries kept in "Your actions". */
const ACTION_LOG_LIMIT = 30;
const TICK_MS = 1000;
const PARENT_PREVIEW_CHARS = 60;

// Refusals as a moderator reads them; the viewer's wording (REASONS) is about posting.
/** @type {Partial<Record<import('./protocol').ErrorCode, string>>} */
const ACTION_REASONS = {
  FORBIDDEN: "You may not moderate this stream.",
  NOT_FOUND: "That comment or user no longer exists.",
  INVALID_MESSAGE: "The server did not understand the request.",
};

/** @param {import('./protocol').ErrorCode | null | undefined} code */
export function refusalText(code) {
  if (!code) return "Refused.";
  return ACTION_REASONS[code] ?? REASONS[code];
}

/** Comments per minute over the last minute, from the times comments arrived. */
export class RateMeter {
  constructor() {
    /** @type {number[]} ascending arrival times (ms) */
    this.times = [];
  }

  /** @param {number} at */
  add(at) {
    const times = this.times;
    if (!times.length || at >= times[times.length - 1]) times.push(at);
    else times.splice(times.findIndex((t) => t > at), 0, at);
  }

  /** @param {number} now */
  perMinute(now) {
    const since = now - RATE_WINDOW_MS;
    let first = 0;
    while (first < this.times.length && this.times[first] <= since) first++;
    if (first) this.times.splice(0, first);
    return this.times.length;
  }
}

/**
 * The rule that held a comment, as the queue shows it. The server says why in words
 * ("link", "reported", "first comment here (shield mode)", a blocked term's rule…);
 * the common ones get a shorter tag, anything else is shown as it came.
 * @param {string} heldReason
 */
export function heldReasonText(heldReason) {
  /** @type {Record<string, string>} */
  const known = { link: "Link", reported: "Reported by viewers" };
  const text = known[heldReason] ?? heldReason;
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : "Held";
}

/**
 * A report's reasons in words, most given first: "spam 2 · harassment 1".
 * @param {Report['reasons']} reasons
 */
export function reportReasonsText(reasons) {
  return Object.entries(reasons)
    .filter(([, count]) => count)
    .sort(([a, x], [b, y]) => (y ?? 0) - (x ?? 0) || a.localeCompare(b))
    .map(([reason, count]) => `${(REPORT_REASONS[/** @type {ReportReason} */ (reason)] ?? reason).toLowerCase()} ${count}`)
    .join(" · ");
}

/**
 * The console's state: LiveStore's, plus comments hidden since they arrived (kept in place,
 * struck through, so that they can be unhidden), the restrictions this console knows, the
 * held queue and the open reports.
 */
export class ConsoleStore extends LiveStore {
  /** @param {string} streamId */
  constructor(streamId) {
    super(streamId);
    /** @type {Set<string>} */
    this.hiddenIds = new Set();
    /** @type {Map<string, Restriction | null>} by user id, from acks and cards */
    this.restrictions = new Map();
    /** @type {Map<string, HeldComment>} comments waiting for a moderator, by id */
    this.held = new Map();
    /** @type {Set<string>} held comments this console approved or denied, until the server says so */
    this.reviewing = new Set();
    /** @type {Map<string, Report>} comments with open reports, by comment id */
    this.openReports = new Map();
  }

  /**
   * The queue and the reports as they stand, sent on every (re)join: they replace what
   * this console had, since it may have missed changes while disconnected.
   * @param {ModerationState} state
   */
  applyModerationState(state) {
    this.held = new Map(state.held.map((comment) => [comment.id, comment]));
    for (const id of this.reviewing) if (!this.held.has(id)) this.reviewing.delete(id);
    this.openReports = new Map(state.reports.filter((report) => report.count > 0).map((report) => [report.commentId, report]));
    this.applySettings(state.settings);
  }

  /** @param {HeldComment} comment a rule held it, or three viewers reported it */
  applyHeld(comment) {
    this.held.set(comment.id, comment);
  }

  /**
   * A moderator, here or elsewhere, approved or denied a held comment: it leaves the queue.
   * (Approved, it reaches the feed in a live batch like any comment.)
   * @override
   * @param {Reviewed} reviewed
   */
  applyReviewed(reviewed) {
    this.held.delete(reviewed.commentId);
    this.reviewing.delete(reviewed.commentId);
    super.applyReviewed(reviewed);
  }

  /** @param {Report} report its count changed; 0 once a moderator dismissed it */
  applyReport(report) {
    if (report.count > 0) this.openReports.set(report.commentId, report);
    else this.openReports.delete(report.commentId);
  }

  /** The held queue, oldest first (the order they wait in). */
  heldQueue() {
    return [...this.held.values()].sort((a, b) => compareIds(a.id, b.id));
  }

  /** Reported comments, most reported first, then oldest first (as the server lists them). */
  reportList() {
    return [...this.openReports.values()].sort((a, b) => b.count - a.count || compareIds(a.commentId, b.commentId));
  }

  /** @param {string} commentId */
  reportCount(commentId) {
    return this.openReports.get(commentId)?.count ?? 0;
  }

  /**
   * @override
   * @param {string[]} commentIds hidden by a moderator or removed with a ban
   */
  applyRemoved(commentIds) {
    const removed = new Set(commentIds);
    for (const id of removed) if (this.commentsById.has(id) || this.openReports.has(id)) this.hiddenIds.add(id);
    this.pinned = this.pinned.filter((comment) => !removed.has(comment.id));
  }

  /**
   * @override
   * @param {Comment} comment pinned, highlighted, edited, or unhidden
   */
  applyCommentUpdated(comment) {
    // Only an unhide sends a hidden comment again: the console offers nothing else on one.
    this.hiddenIds.delete(comment.id);
    const report = this.openReports.get(comment.id);
    if (report) this.openReports.set(comment.id, { ...report, comment });
    super.applyCommentUpdated(comment);
  }

  /**
   * @override
   * @param {Comment[]} batch
   */
  applyBatch(batch) {
    const added = super.applyBatch(batch);
    for (const id of this.hiddenIds) if (!this.commentsById.has(id) && !this.openReports.has(id)) this.hiddenIds.delete(id);
    return added;
  }

  /** @param {string} commentId */
  isHidden(commentId) {
    return this.hiddenIds.has(commentId);
  }

  /**
   * "Banned", "Timed out" or "" for a user, as far as this console knows.
   * @param {string} userId @param {number} now
   */
  restrictionLabel(userId, now) {
    const restriction = this.restrictions.get(userId);
    if (!restriction) return "";
    if (restriction.until === null) return "Banned";
    return restriction.until > now ? "Timed out" : "";
  }
}

/**
 * @param {string} tag
 * @param {string} className
 * @param {string} [text]
 */
function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A row button: out of the tab order (the list is one tab stop; keys act on the row).
 * @param {string} text @param {string} label @param {Record<string, string>} data
 * @param {string} [extraClass]
 */
function rowButton(text, label, data, extraClass = "") {
  const button = /** @type {HTMLButtonElement} */ (element("button", `mod-button ${extraClass}`.trim(), text));
  button.type = "button";
  button.tabIndex = -1;
  button.setAttribute("aria-label", label);
  button.title = label;
  Object.assign(button.dataset, data);
  return button;
}

/** @param {string} iso */
function clockTime(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

/** @param {number} seconds */
export function durationText(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** @param {number} minutes */
function ageText(minutes) {
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h`;
  if (minutes < 60 * 24 * 60) return `${Math.floor(minutes / (24 * 60))} days`;
  return `${Math.floor(minutes / (30 * 24 * 60))} months`;
}

/** @param {Comment} comment @param {string} selfId */
function restrictableAuthor(comment, selfId) {
  return comment.authorRole === "viewer" && comment.userId !== selfId;
}

/** The feed: StreamView's list, with a moderator's row for each comment. */
class ConsoleView extends StreamView {
  /**
   * @param {HTMLElement} root
   * @param {() => number} clock
   * @param {string} selfId the moderator, whom the console offers no timeout or ban
   */
  constructor(root, clock, selfId) {
    // Not the page's reader: no reply buttons, no menus, no bursts.
    const options = { username: null, moderates: false, reducedMotion: true };
    super(root, options);
    this.clock = clock;
    this.selfId = selfId;
  }

  /**
   * StreamView redraws a row when its signature changes; a moderator's row also shows
   * pinned, hidden and the author's restriction.
   * @override
   * @param {DisplayItem} item @param {LiveStore} store @param {number} now
   */
  upToDate(item, store, now) {
    if (!item.comment || !(store instanceof ConsoleStore)) return super.upToDate(item, store, now);
    const comment = item.comment;
    const parentKnown = comment.parentId ? store.findComment(comment.parentId) !== null : false;
    const signature = [
      comment.isPinned, comment.isHighlighted, store.isHidden(comment.id), parentKnown,
      store.restrictionLabel(comment.userId, now), store.reportCount(comment.id), comment.content,
    ].join("|");
    const existing = this.rendered.get(item.key);
    if (existing && existing.signature === signature) return existing.node;
    const node = this.commentNode(comment, store);
    this.rendered.set(item.key, { node, signature });
    return node;
  }

  /**
   * @override
   * @param {Comment} comment @param {LiveStore} store
   */
  commentNode(comment, store) {
    const hidden = store instanceof ConsoleStore && store.isHidden(comment.id);
    const restricted = store instanceof ConsoleStore ? store.restrictionLabel(comment.userId, this.clock()) : "";
    const node = /** @type {HTMLLIElement} */ (element("li", "comment mod-row"));
    node.tabIndex = -1;
    node.dataset.commentId = comment.id;
    node.dataset.userId = comment.userId;
    node.classList.toggle("is-highlighted", comment.isHighlighted);
    node.classList.toggle("is-pinned", comment.isPinned);
    node.classList.toggle("is-hidden", hidden);
    const who = comment.username;

    const quick = element("span", "mod-quick");
    quick.append(
      hidden
        ? rowButton("Unhide", `Unhide ${who}'s comment`, { act: "unhide" })
        : rowButton("Hide", `Hide ${who}'s comment`, { act: "hide" }),
    );
    // As on the stream page: no timeout or ban of the host, a moderator or oneself.
    const restrictable = restrictableAuthor(comment, this.selfId);
    if (restrictable) {
      quick.append(
        rowButton("10m", `Time out ${who} for 10 minutes`, { act: "timeout", seconds: "600" }),
        rowButton("Ban", `Ban ${who} from this stream`, { act: "ban" }, "danger"),
      );
    }
    const time = element("time", "mod-time", clockTime(comment.createdAt));
    time.setAttribute("datetime", comment.createdAt);
    node.append(time, quick);

    const body = element("span", "mod-body");
    if (comment.parentId) {
      const parent = store.findComment(comment.parentId);
      const text = parent ? `↪ ${parent.username}: ${parent.content}` : "↪ a reply";
      body.append(element("span", "mod-parent", text.length > PARENT_PREVIEW_CHARS ? `${text.slice(0, PARENT_PREVIEW_CHARS - 1)}…` : text));
    }
    if (comment.authorRole !== "viewer") {
      body.append(element("span", `mod-role mod-role-${comment.authorRole}`, comment.authorRole === "host" ? "Host" : "Mod"));
    }
    const author = rowButton(who, `Open ${who}'s user card`, { card: comment.userId }, "mod-user");
    author.className = "mod-user";
    body.append(author, element("span", "comment-content", comment.content));
    for (const [on, text] of /** @type {[boolean, string][]} */ ([
      [comment.isPinned, "Pinned"], [comment.isHighlighted, "Highlighted"], [hidden, "Hidden"],
      [restricted !== "", restricted],
    ])) {
      if (on) body.append(element("span", `flag flag-${text.toLowerCase().replace(" ", "-")}`, text));
    }
    const reports = store instanceof ConsoleStore ? store.reportCount(comment.id) : 0;
    if (reports) body.append(element("span", "flag flag-reported", reports === 1 ? "1 report" : `${reports} reports`));
    node.append(body);

    const more = element("span", "mod-more");
    if (!hidden) {
      more.append(
        comment.isPinned
          ? rowButton("Unpin", `Unpin ${who}'s comment`, { act: "unpin" })
          : rowButton("Pin", `Pin ${who}'s comment`, { act: "pin" }),
        comment.isHighlighted
          ? rowButton("Unhighlight", `Unhighlight ${who}'s comment`, { act: "unhighlight" })
          : rowButton("Highlight", `Highlight ${who}'s comment`, { act: "highlight" }),
      );
    }
    for (const { seconds, label } of restrictable ? TIMEOUTS : []) {
      if (seconds === 600) continue; // always visible on the left
      more.append(rowButton(label, `Time out ${who} for ${durationText(seconds)}`, { act: "timeout", seconds: String(seconds) }));
    }
    node.append(more);
    return node;
  }

}

/**
 * @template {Element} T
 * @param {ParentNode} root @param {string} selector @param {new () => T} type
 * @returns {T}
 */
function part(root, selector, type) {
  const found = root.querySelector(selector);
  if (!(found instanceof type)) throw new Error(`moderation console: missing ${selector}`);
  return found;
}

function start() {
  const config = /** @type {ConsoleConfig} */ (readConfig("console-config"));
  const root = part(document, "[data-console]", HTMLElement);
  const store = new ConsoleStore(config.streamId);
  const view = new ConsoleView(root, () => Date.now(), config.user.id);
  const rate = new RateMeter();
  const reasonInput = part(root, "[data-reason]", HTMLInputElement);
  const rateOut = part(root, "[data-comment-rate]", HTMLElement);
  const statusBadge = part(root, "[data-stream-status]", HTMLElement);
  const actionStatus = part(root, "[data-action-status]", HTMLElement);
  const actionLog = part(root, "[data-action-log]", HTMLOListElement);
  const settingsForm = part(root, "[data-settings]", HTMLFormElement);
  const shield = part(root, "[data-shield]", HTMLButtonElement);
  const card = part(root, "[data-user-card]", HTMLElement);
  const heldList = part(root, "[data-held-list]", HTMLOListElement);
  const heldCount = part(root, "[data-held-count]", HTMLElement);
  const heldEmpty = part(root, "[data-held-empty]", HTMLElement);
  const reportList = part(root, "[data-report-list]", HTMLOListElement);
  const reportCount = part(root, "[data-report-count]", HTMLElement);
  const reportEmpty = part(root, "[data-report-empty]", HTMLElement);
  const queueAnnouncer = part(root, "[data-queue-announcer]", HTMLElement);
  const pageTitle = document.title;
  const termsPanel = root.querySelector("[data-terms-panel]");
  const terms = config.terms && termsPanel instanceof HTMLElement
    ? startTermsPanel(termsPanel, { terms: config.terms, streamId: config.streamId, csrfToken: config.csrfToken })
    : null;

  let refused = "";
  /** @type {string | null} the comment the moderator moved to with the keys */
  let focusedId = null;
  /** @type {Map<string, PendingAction>} by idempotency key, until acked */
  const pending = new Map();
  /** Settings fields changed here and not yet answered: not overwritten meanwhile. */
  const settingsInFlight = new Set();

  // Drawn at most once per animation frame, however many frames the socket brings.
  const update = oncePerFrame(render);

  // The socket, the join and the frames every live page handles alike (page-client.js):
  // always as a moderator, so the feed is whole, never sampled.
  const client = new PageClient({
    store,
    streamId: config.streamId,
    socketPath: config.socketPath,
    moderating: () => true,
    onFrame: handleFrame,
    onDisconnect: update,
  });
  const connection = client.connection;

  /**
   * The console's part of a frame, after the store has taken it (PageClient.handle).
   * @param {ServerFrame} frame
   * @param {Comment[]} added what a comments_batch added to the store
   * @param {number} now
   */
  function handleFrame(frame, added, now) {
    switch (frame.type) {
      case "stream_state":
        // Sent again with the same keys: the server answers a key it has seen once.
        for (const entry of pending.values()) connection.send({ type: "moderate", payload: entry.payload });
        break;
      case "moderation_state":
        store.applyModerationState(frame.payload);
        break;
      case "comment_held":
        store.applyHeld(frame.payload.comment);
        // If a term held it, its counter moved: read them again (one read for a burst).
        terms?.refreshSoon();
        queueAnnouncer.textContent =
          `Held for review: ${frame.payload.comment.username}, ${heldReasonText(frame.payload.comment.heldReason).toLowerCase()}.`;
        break;
      case "comment_reviewed":
        store.applyReviewed(frame.payload);
        break;
      case "comment_reported":
        store.applyReport(frame.payload.report);
        break;
      case "comments_batch":
        // A backfill counts in the rate when the server received it; a live batch, now.
        if (frame.payload.isBackfill) {
          for (const comment of added) rate.add(comment.metadata.receivedAt);
        } else {
          for (let i = 0; i < added.length; i++) rate.add(now);
          view.queueAnnouncement(added);
        }
        break;
      case "ack":
        applyAck(frame.payload);
        break;
      case "error":
        if (frame.payload.code === "UNAVAILABLE") connection.joinRefused();
        if (frame.payload.code === "FORBIDDEN" && !client.joined) {
          refused = "You may not moderate this stream.";
          connection.stop();
        }
        setStatus(frame.payload.message || REASONS[frame.payload.code], true);
        break;
    }
    update();
  }

  // --- Actions ------------------------------------------------------------------------

  /**
   * Send one `moderate` message; "Your actions" shows it until its ack says how it went.
   * @param {Action} action @param {string} label
   */
  function act(action, label) {
    /** @type {ModeratePayload} */
    const payload = { streamId: config.streamId, idempotencyKey: newIdempotencyKey(), ...action };
    const logEntry = /** @type {HTMLLIElement} */ (element("li", "is-pending"));
    logEntry.append(element("span", "log-text", `${label}…`));
    actionLog.prepend(logEntry);
    while (actionLog.childElementCount > ACTION_LOG_LIMIT) actionLog.lastElementChild?.remove();
    pending.set(payload.idempotencyKey, { payload, label, logEntry });
    if (!client.joined || !connection.send({ type: "moderate", payload })) {
      setStatus(`${label}: waiting for the connection…`, false);
    }
  }

  /** @param {Ack} ack */
  function applyAck(ack) {
    const entry = pending.get(ack.idempotencyKey);
    if (!entry) return;
    pending.delete(ack.idempotencyKey);
    const { payload, label, logEntry } = entry;
    if (payload.action === "settings") for (const name of Object.keys(payload.settings ?? {})) settingsInFlight.delete(name);
    if (payload.action === "shield_on" || payload.action === "shield_off") settingsInFlight.delete("shield");
    logEntry.classList.remove("is-pending");
    const text = /** @type {HTMLElement} */ (logEntry.querySelector(".log-text"));
    const { commentId } = payload;
    if (ack.status !== "accepted") {
      if (commentId) store.reviewing.delete(commentId);
      const why = refusalText(ack.code);
      logEntry.classList.add("is-refused");
      text.textContent = `✗ ${label}: ${why}`;
      setStatus(`Not done: ${label}. ${why}`, true);
      return;
    }
    logEntry.classList.add("is-done");
    text.textContent = `✓ ${label}`;
    setStatus(`Done: ${label}.`, false);
    const now = Date.now();
    if (payload.userId) {
      if (payload.action === "ban") store.restrictions.set(payload.userId, { code: "BANNED", until: null, reason: payload.reason || null });
      if (payload.action === "timeout") {
        const until = now + (payload.durationSeconds ?? 0) * 1000;
        store.restrictions.set(payload.userId, { code: "BANNED", until, reason: payload.reason || null });
      }
      if (payload.action === "unban") store.restrictions.delete(payload.userId);
      if (card.dataset.userId === payload.userId) openCard(payload.userId, false);
    }
    if (payload.action === "unhide" && commentId) store.hiddenIds.delete(commentId);
    // Decided already elsewhere, the server changes nothing and sends no comment_reviewed.
    if ((payload.action === "approve" || payload.action === "deny") && commentId) store.held.delete(commentId);
    if (payload.action === "dismiss_reports" && commentId) store.openReports.delete(commentId);
    const undo = undoOf(payload);
    if (undo) {
      const button = element("button", "link-button log-undo", "Undo");
      button.setAttribute("aria-label", `Undo: ${label}`);
      button.addEventListener("click", () => {
        button.remove();
        act(undo.action, undo.label);
      }, { once: true });
      logEntry.append(button);
    }
  }

  /** @param {ModeratePayload} payload @returns {{action: Action, label: string} | null} */
  function undoOf(payload) {
    const { commentId, userId } = payload;
    /** @type {Partial<Record<ModeratePayload['action'], ModeratePayload['action']>>} */
    const opposite = { hide: "unhide", unhide: "hide", pin: "unpin", unpin: "pin", ban: "unban", timeout: "unban" };
    const action = opposite[payload.action];
    if (!action) return null;
    return commentId
      ? { action: { action, commentId }, label: `${action} comment (undo)` }
      : { action: { action, userId }, label: `lift the restriction (undo)` };
  }

  /** @param {string} text @param {boolean} isError */
  function setStatus(text, isError) {
    actionStatus.textContent = text;
    actionStatus.classList.toggle("is-error", isError);
  }

  function reason() {
    return reasonInput.value.trim();
  }

  /**
   * Carry out the action a row button or key names, on that comment or its author.
   * @param {string} name @param {Comment} comment @param {number} [seconds]
   */
  function actOnComment(name, comment, seconds) {
    const who = comment.username;
    const why = reason();
    const labelled = (/** @type {string} */ what) => (why ? `${what} — ${why}` : what);
    switch (name) {
      case "timeout": {
        const duration = seconds ?? KEY_TIMEOUT_SECONDS;
        act({ action: "timeout", userId: comment.userId, durationSeconds: duration, reason: why }, labelled(`Time out ${who} for ${durationText(duration)}`));
        break;
      }
      case "ban":
        act({ action: "ban", userId: comment.userId, reason: why }, labelled(`Ban ${who}`));
        break;
      case "pin": case "unpin": case "highlight": case "unhighlight": case "hide": case "unhide":
        act({ action: name, commentId: comment.id, reason: why }, labelled(`${name[0].toUpperCase()}${name.slice(1)} ${who}'s comment`));
        break;
      case "approve": case "deny":
        store.reviewing.add(comment.id);
        act({ action: name, commentId: comment.id, reason: why }, labelled(`${name === "approve" ? "Approve" : "Deny"} ${who}'s held comment`));
        break;
      case "dismiss_reports":
        act({ action: name, commentId: comment.id, reason: why }, labelled(`Dismiss the reports on ${who}'s comment`));
        break;
    }
  }

  view.list.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = target.closest("button");
    const row = target.closest("li[data-comment-id]");
    if (!(row instanceof HTMLLIElement)) return;
    const comment = store.findComment(row.dataset.commentId ?? "");
    if (!comment) return;
    focusedId = comment.id;
    if (button?.dataset.card) {
      openCard(button.dataset.card, true);
    } else if (button?.dataset.act) {
      actOnComment(button.dataset.act, comment, button.dataset.seconds ? Number(button.dataset.seconds) : undefined);
    }
  });

  view.list.addEventListener("focusin", (event) => {
    const row = /** @type {HTMLElement} */ (event.target).closest("li[data-comment-id]");
    if (row instanceof HTMLElement) focusedId = row.dataset.commentId ?? null;
  });

  view.list.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key.toLowerCase() === "q") {
      event.preventDefault();
      focusQueue(0);
      return;
    }
    const rows = /** @type {HTMLLIElement[]} */ ([...view.list.querySelectorAll("li[data-comment-id]")]);
    if (!rows.length) return;
    const current = /** @type {HTMLElement} */ (document.activeElement).closest?.("li[data-comment-id]");
    const index = current ? rows.indexOf(/** @type {HTMLLIElement} */ (current)) : -1;
    /** @param {number} to */
    const move = (to) => {
      const row = rows[Math.max(0, Math.min(rows.length - 1, to))];
      focusedId = row.dataset.commentId ?? null;
      row.focus();
      event.preventDefault();
    };
    switch (event.key) {
      case "ArrowUp": return move(index === -1 ? rows.length - 1 : index - 1);
      case "ArrowDown": return move(index === -1 ? rows.length - 1 : index + 1);
      case "Home": return move(0);
      case "End": return move(rows.length - 1);
      case "Escape":
        focusedId = null;
        view.list.focus();
        view.scrollToNewest();
        event.preventDefault();
        return;
    }
    if (index === -1) return;
    const comment = store.findComment(rows[index].dataset.commentId ?? "");
    if (!comment) return;
    const hidden = store.isHidden(comment.id);
    /** @type {Record<string, () => void>} */
    const keys = {
      p: () => !hidden && actOnComment(comment.isPinned ? "unpin" : "pin", comment),
      l: () => !hidden && actOnComment(comment.isHighlighted ? "unhighlight" : "highlight", comment),
      h: () => actOnComment(hidden ? "unhide" : "hide", comment),
      t: () => restrictableAuthor(comment, config.user.id) && actOnComment("timeout", comment, KEY_TIMEOUT_SECONDS),
      b: () => restrictableAuthor(comment, config.user.id) && actOnComment("ban", comment),
      u: () => openCard(comment.userId, true),
      enter: () => openCard(comment.userId, true),
    };
    const handler = keys[event.key.toLowerCase()];
    if (handler) {
      event.preventDefault();
      handler();
    }
  });

  // --- The held queue and the reports ------------------------------------------------

  /** @type {string | null} the held comment the moderator moved to with the keys */
  let heldFocusId = null;

  /** @param {number} index the held item to focus (clamped), or the list when it is empty */
  function focusQueue(index) {
    const items = /** @type {HTMLElement[]} */ ([...heldList.querySelectorAll("li[data-held-id]")]);
    const item = items[Math.max(0, Math.min(items.length - 1, index))];
    heldFocusId = item?.dataset.heldId ?? null;
    (item ?? heldList).focus();
  }

  /** @param {string} id */
  const heldComment = (id) => store.held.get(id) ?? null;

  heldList.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const item = target.closest("li[data-held-id]");
    const comment = item instanceof HTMLElement ? heldComment(item.dataset.heldId ?? "") : null;
    const button = target.closest("button");
    if (!comment || !button) return;
    heldFocusId = comment.id;
    if (button.dataset.card) openCard(button.dataset.card, true);
    else if (button.dataset.act && !store.reviewing.has(comment.id)) actOnComment(button.dataset.act, comment);
  });

  heldList.addEventListener("focusin", (event) => {
    const item = /** @type {HTMLElement} */ (event.target).closest("li[data-held-id]");
    if (item instanceof HTMLElement) heldFocusId = item.dataset.heldId ?? null;
  });

  heldList.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const items = /** @type {HTMLElement[]} */ ([...heldList.querySelectorAll("li[data-held-id]")]);
    const current = /** @type {HTMLElement} */ (document.activeElement).closest?.("li[data-held-id]");
    const index = current ? items.indexOf(/** @type {HTMLElement} */ (current)) : -1;
    /** @type {Record<string, () => void>} */
    const moves = {
      ArrowUp: () => focusQueue(index === -1 ? 0 : index - 1),
      ArrowDown: () => focusQueue(index + 1),
      Home: () => focusQueue(0),
      End: () => focusQueue(items.length - 1),
      Escape: () => {
        heldFocusId = null;
        view.list.focus();
      },
    };
    if (moves[event.key]) {
      event.preventDefault();
      moves[event.key]();
      return;
    }
    const comment = index === -1 ? null : heldComment(items[index].dataset.heldId ?? "");
    if (!comment) return;
    const key = event.key.toLowerCase();
    if ((key === "a" || key === "d") && !store.reviewing.has(comment.id)) {
      event.preventDefault();
      actOnComment(key === "a" ? "approve" : "deny", comment);
      // On to the next one waiting, as a moderator works down the queue.
      const next = items.slice(index + 1).concat(items.slice(0, index))
        .find((item) => !store.reviewing.has(item.dataset.heldId ?? ""));
      heldFocusId = next?.dataset.heldId ?? comment.id;
      update();
    } else if (key === "u" || key === "enter") {
      event.preventDefault();
      openCard(comment.userId, true);
    }
  });

  reportList.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const item = target.closest("li[data-report-id]");
    const report = item instanceof HTMLElement ? store.openReports.get(item.dataset.reportId ?? "") : undefined;
    const button = target.closest("button");
    if (!report || !button) return;
    if (button.dataset.card) openCard(button.dataset.card, true);
    else if (button.dataset.act) actOnComment(button.dataset.act, report.comment);
  });

  /**
   * An entry of the held queue or the reports: who, what they wrote, and the buttons.
   * @param {Comment} comment @param {string} className
   */
  function queueItem(comment, className) {
    const item = element("li", `queue-item ${className}`);
    const text = element("p", "queue-text");
    if (comment.authorRole !== "viewer") {
      text.append(element("span", `mod-role mod-role-${comment.authorRole}`, comment.authorRole === "host" ? "Host" : "Mod"));
    }
    const author = element("button", "mod-user", comment.username);
    author.setAttribute("type", "button");
    author.setAttribute("aria-label", `Open ${comment.username}'s user card`);
    author.dataset.card = comment.userId;
    const content = element("span", "comment-content", comment.content);
    content.dir = "auto";
    text.append(author, content);
    return { item, text };
  }

  /** @param {HeldComment} comment */
  function heldNode(comment) {
    const { item, text } = queueItem(comment, "held-item");
    const who = comment.username;
    item.tabIndex = -1;
    item.dataset.heldId = comment.id;
    for (const button of text.querySelectorAll("button")) button.tabIndex = -1;
    const meta = element("p", "queue-meta");
    const time = element("time", "mod-time", clockTime(comment.createdAt));
    time.setAttribute("datetime", comment.createdAt);
    meta.append(element("span", "held-reason", heldReasonText(comment.heldReason)), time);
    const actions = element("p", "queue-actions");
    if (store.reviewing.has(comment.id)) {
      actions.append(element("span", "queue-pending", "Sending your decision…"));
    } else {
      actions.append(
        rowButton("Approve", `Approve ${who}'s held comment`, { act: "approve" }, "approve"),
        rowButton("Deny", `Deny ${who}'s held comment`, { act: "deny" }, "danger"),
      );
    }
    item.append(meta, text, actions);
    return item;
  }

  /** @param {Report} report */
  function reportNode(report) {
    const { item, text } = queueItem(report.comment, "report-item");
    const who = report.comment.username;
    item.dataset.reportId = report.commentId;
    const meta = element("p", "queue-meta");
    meta.append(
      element("span", "report-count", report.count === 1 ? "1 report" : `${report.count} reports`),
      element("span", "report-reasons", reportReasonsText(report.reasons)),
    );
    const held = store.held.has(report.commentId);
    const hidden = store.isHidden(report.commentId);
    if (held) meta.append(element("span", "flag flag-held", "In the held queue"));
    else if (hidden) meta.append(element("span", "flag flag-hidden", "Hidden"));
    const actions = element("p", "queue-actions");
    if (!held) {
      actions.append(
        hidden
          ? plainButton("Unhide", `Unhide ${who}'s comment`, { act: "unhide" })
          : plainButton("Hide", `Hide ${who}'s comment`, { act: "hide" }, "danger"),
      );
    }
    actions.append(plainButton("Dismiss", `Dismiss the reports on ${who}'s comment`, { act: "dismiss_reports" }));
    item.append(meta, text, actions);
    return item;
  }

  /**
   * A panel's button, in the tab order (unlike the feed's, which the keys reach).
   * @param {string} text @param {string} label @param {Record<string, string>} data @param {string} [extraClass]
   */
  function plainButton(text, label, data, extraClass) {
    const button = rowButton(text, label, data, extraClass);
    button.removeAttribute("tabindex");
    return button;
  }

  /** @type {WeakMap<HTMLElement, Map<string, {node: HTMLElement, signature: string}>>} */
  const drawn = new WeakMap();

  /**
   * Bring a panel's list in line with its items, redrawing only those that changed and
   * keeping the keyboard on the item it was on (or the next one, when that one left).
   * @template T
   * @param {HTMLOListElement} list @param {T[]} items
   * @param {(item: T) => string} keyOf @param {(item: T) => string} signatureOf
   * @param {(item: T) => HTMLElement} build
   * @param {string | null} focusKey
   */
  function syncList(list, items, keyOf, signatureOf, build, focusKey) {
    const rendered = drawn.get(list) ?? new Map();
    drawn.set(list, rendered);
    const focused = document.activeElement;
    const hadFocus = focused !== null && focused !== list && list.contains(focused);
    const focusedIndex = hadFocus ? [...list.children].findIndex((child) => child.contains(focused)) : -1;
    const wanted = new Set(items.map(keyOf));
    for (const [key, entry] of rendered) {
      if (!wanted.has(key)) {
        entry.node.remove();
        rendered.delete(key);
      }
    }
    /** @type {ChildNode | null} */
    let cursor = list.firstChild;
    for (const item of items) {
      const key = keyOf(item);
      const signature = signatureOf(item);
      let entry = rendered.get(key);
      if (!entry || entry.signature !== signature) {
        const stale = entry?.node;
        entry = { node: build(item), signature };
        rendered.set(key, entry);
        if (stale) {
          if (stale === cursor) cursor = stale.nextSibling;
          stale.remove();
        }
      }
      if (cursor && entry.node === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(entry.node, cursor);
    }
    if (!hadFocus || list.contains(document.activeElement)) return;
    const children = /** @type {HTMLElement[]} */ ([...list.children]);
    const target = (focusKey !== null ? rendered.get(focusKey)?.node : undefined)
      ?? children[Math.min(focusedIndex, children.length - 1)]
      ?? list;
    target.focus();
  }

  function renderQueue() {
    const queue = store.heldQueue();
    syncList(
      heldList, queue, (comment) => comment.id,
      (comment) => `${store.reviewing.has(comment.id)}|${comment.heldReason}|${comment.content}`,
      heldNode, heldFocusId,
    );
    heldCount.textContent = String(queue.length);
    heldCount.classList.toggle("is-zero", queue.length === 0);
    heldEmpty.hidden = queue.length > 0;
    const reports = store.reportList();
    syncList(
      reportList, reports, (report) => report.commentId,
      (report) => [
        report.count, reportReasonsText(report.reasons), store.held.has(report.commentId),
        store.isHidden(report.commentId), report.comment.content,
      ].join("|"),
      reportNode, null,
    );
    reportCount.textContent = String(reports.length);
    reportCount.classList.toggle("is-zero", reports.length === 0);
    reportEmpty.hidden = reports.length > 0;
    // A console left in a background tab still says when comments are waiting.
    const title = queue.length ? `(${queue.length}) ${pageTitle}` : pageTitle;
    if (document.title !== title) document.title = title;
  }

  // --- Chat settings -------------------------------------------------------------------

  settingsForm.addEventListener("change", (event) => {
    const input = /** @type {HTMLInputElement | HTMLSelectElement} */ (event.target);
    const name = /** @type {keyof import('./protocol').SettingsChange | undefined} */ (input.dataset.setting);
    if (!name) return;
    const value = input instanceof HTMLInputElement && input.type === "checkbox" ? input.checked : Number(input.value);
    settingsInFlight.add(name);
    const words = {
      slowModeSeconds: `Slow mode ${value ? durationText(Number(value)) : "off"}`,
      minAccountAgeMinutes: `Minimum account age ${value ? ageText(Number(value)) : "off"}`,
      locked: value ? "Lock the chat" : "Unlock the chat",
      holdLinks: value ? "Hold comments with links" : "Stop holding links",
    };
    act({ action: "settings", settings: { [name]: value }, reason: reason() }, words[name]);
  });
  settingsForm.addEventListener("submit", (event) => event.preventDefault());
  shield.addEventListener("click", () => {
    const on = shield.getAttribute("aria-checked") !== "true";
    settingsInFlight.add("shield");
    setSwitch(on);
    act({ action: on ? "shield_on" : "shield_off", reason: reason() }, on ? "Shield mode on" : "Shield mode off");
  });

  /** @param {boolean} on */
  function setSwitch(on) {
    shield.setAttribute("aria-checked", String(on));
    const text = shield.querySelector(".switch-text");
    if (text) text.textContent = on ? "On" : "Off";
  }

  function renderSettings() {
    const settings = store.settings;
    if (!settings) return;
    if (!settingsInFlight.has("shield")) setSwitch(settings.shield);
    for (const input of settingsForm.querySelectorAll("[data-setting]")) {
      const name = /** @type {keyof StreamSettings} */ (/** @type {HTMLElement} */ (input).dataset.setting);
      if (settingsInFlight.has(name)) continue;
      const value = settings[name];
      if (input instanceof HTMLInputElement) {
        if (input.checked !== value) input.checked = Boolean(value);
      } else if (input instanceof HTMLSelectElement && input.value !== String(value)) {
        if (![...input.options].some((option) => option.value === String(value))) {
          // Set elsewhere (the admin, the API) to a value this list does not offer.
          const option = new Option(name === "slowModeSeconds" ? durationText(Number(value)) : ageText(Number(value)), String(value));
          input.add(option);
        }
        input.value = String(value);
      }
    }
  }

  // --- The user card -------------------------------------------------------------------

  const cardName = part(card, "[data-card-name]", HTMLElement);
  const cardFacts = part(card, "[data-card-facts]", HTMLElement);
  const cardRestriction = part(card, "[data-card-restriction]", HTMLElement);
  const cardReason = part(card, "[data-card-reason]", HTMLInputElement);
  const cardSeconds = part(card, "[data-card-seconds]", HTMLInputElement);
  const cardUnban = part(card, "[data-card-unban]", HTMLButtonElement);
  const cardNote = part(card, "[data-card-note]", HTMLFormElement);
  const cardNoteText = part(card, "[data-card-note-text]", HTMLTextAreaElement);
  const cardNoteStatus = part(card, "[data-card-note-status]", HTMLElement);
  const cardComments = part(card, "[data-card-comments]", HTMLOListElement);
  const cardHistory = part(card, "[data-card-history]", HTMLOListElement);
  /** @type {HTMLElement | null} where focus goes back when the card closes */
  let cardOpener = null;
  let cardRequest = 0;

  /**
   * @param {string} userId
   * @param {boolean} fresh a new card (focus it, clear its reason), or a refresh after an action
   */
  async function openCard(userId, fresh) {
    const request = ++cardRequest;
    if (fresh) {
      cardOpener = /** @type {HTMLElement | null} */ (document.activeElement);
      cardReason.value = reason();
      cardNoteStatus.textContent = "";
      cardName.textContent = "Loading…";
    }
    card.dataset.userId = userId;
    card.hidden = false;
    if (fresh) card.focus();
    let data;
    try {
      const response = await fetch(`${config.usersUrl}${userId}/`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      data = /** @type {UserCard} */ (await response.json());
    } catch (error) {
      if (request === cardRequest) cardFacts.textContent = `Could not load this user: ${error instanceof Error ? error.message : error}`;
      return;
    }
    if (request !== cardRequest) return; // another card was opened meanwhile
    renderCard(data);
  }

  /** @param {UserCard} data */
  function renderCard(data) {
    const { user } = data;
    store.restrictions.set(user.id, data.restriction);
    cardName.textContent = user.username;
    if (user.isHost) cardName.append(" ", element("span", "mod-role mod-role-host", "Host"));
    const joinedOn = new Date(user.dateJoined).toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" });
    cardFacts.textContent =
      `Account ${ageText(user.accountAgeMinutes)} old (joined ${joinedOn}) · ` +
      `${data.commentCount} comment${data.commentCount === 1 ? "" : "s"} here · ${data.hiddenCount} hidden`;
    const restriction = data.restriction;
    cardRestriction.hidden = restriction === null;
    cardUnban.hidden = restriction === null;
    if (restriction) {
      const why = restriction.reason ? ` — ${restriction.reason}` : "";
      cardRestriction.textContent = restriction.until === null
        ? `Banned from this stream${why}`
        : `Timed out until ${new Date(restriction.until).toLocaleTimeString([], { hour12: false })}${why}`;
    }
    cardNote.hidden = !config.keepsNotes || data.note === null;
    if (data.note && document.activeElement !== cardNoteText) {
      cardNoteText.value = data.note.text;
      cardNoteStatus.textContent = data.note.updatedBy && data.note.updatedAt
        ? `Last saved by ${data.note.updatedBy}, ${new Date(data.note.updatedAt).toLocaleString()}`
        : "";
    }
    cardComments.replaceChildren(...(data.comments.length
      ? data.comments.map((comment) => {
          const item = element("li", comment.isHidden ? "is-hidden" : "");
          item.append(element("time", "mod-time", clockTime(comment.createdAt)), " ", element("span", "comment-content", comment.content));
          if (comment.isHidden) item.append(" ", element("span", "flag flag-hidden", "Hidden"));
          if (comment.isPinned) item.append(" ", element("span", "flag flag-pinned", "Pinned"));
          return item;
        })
      : [element("li", "empty", "No comments on this stream.")]));
    cardHistory.replaceChildren(...(data.history.length
      ? data.history.map((entry) => {
          const item = element("li", `history-${entry.kind}`);
          const when = new Date(entry.at).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
          const what = entry.kind === "timeout" && entry.until
            ? `Timed out until ${new Date(entry.until).toLocaleString([], { dateStyle: "short", timeStyle: "short" })}`
            : { ban: "Banned", unban: "Unbanned", hide: "Comment hidden", unhide: "Comment unhidden" }[entry.kind] ?? entry.kind;
          const where = entry.siteWide ? "site-wide" : entry.stream ? `on “${entry.stream}”` : "";
          item.append(element("strong", "", what), ` ${where} · ${when}${entry.by ? ` by ${entry.by}` : ""}`);
          if (entry.reason) item.append(element("span", "history-reason", ` — ${entry.reason}`));
          return item;
        })
      : [element("li", "empty", "Nothing yet.")]));
    update();
  }

  function closeCard() {
    card.hidden = true;
    delete card.dataset.userId;
    cardRequest++;
    if (cardOpener?.isConnected) cardOpener.focus();
    else view.list.focus();
  }

  /** @param {Action} action @param {string} what */
  function actFromCard(action, what) {
    const why = cardReason.value.trim();
    act({ ...action, reason: why }, why ? `${what} — ${why}` : what);
  }

  function cardUser() {
    return { id: card.dataset.userId ?? "", name: cardName.firstChild?.textContent ?? "" };
  }

  card.addEventListener("click", (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest("button");
    if (!button) return;
    const { id, name } = cardUser();
    if (button.matches("[data-card-close]")) closeCard();
    else if (button.dataset.cardTimeout) {
      const seconds = Number(button.dataset.cardTimeout);
      actFromCard({ action: "timeout", userId: id, durationSeconds: seconds }, `Time out ${name} for ${durationText(seconds)}`);
    } else if (button.matches("[data-card-ban]")) actFromCard({ action: "ban", userId: id }, `Ban ${name}`);
    else if (button.matches("[data-card-unban]")) actFromCard({ action: "unban", userId: id }, `Lift ${name}'s ban or timeout`);
  });
  part(card, "[data-card-custom]", HTMLFormElement).addEventListener("submit", (event) => {
    event.preventDefault();
    const seconds = Math.round(Number(cardSeconds.value));
    if (!(seconds >= 1 && seconds <= 14 * 86400)) return;
    const { id, name } = cardUser();
    actFromCard({ action: "timeout", userId: id, durationSeconds: seconds }, `Time out ${name} for ${durationText(seconds)}`);
  });
  card.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closeCard();
    }
  });
  cardNote.addEventListener("submit", async (event) => {
    event.preventDefault();
    const userId = card.dataset.userId;
    if (!userId) return;
    cardNoteStatus.textContent = "Saving…";
    try {
      const response = await fetch(`${config.usersUrl}${userId}/note/`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrfToken },
        body: JSON.stringify({ text: cardNoteText.value }),
      });
      const body = await response.json();
      cardNoteStatus.textContent = response.ok ? "Note saved." : `Not saved: ${body.error}`;
    } catch {
      cardNoteStatus.textContent = "Not saved: the server could not be reached.";
    }
  });

  // --- Rendering -----------------------------------------------------------------------

  function render() {
    const now = Date.now();
    view.renderComments(store, client.takeArrived(), now);
    restoreFocus();
    view.renderPinned(store.pinned);
    view.renderViewerCount(store.viewerCount);
    view.renderConnection(connectionText(now));
    rateOut.textContent = rate.perMinute(now).toLocaleString();
    if (store.status === "ended" && statusBadge.textContent !== "Ended") {
      statusBadge.textContent = "Ended";
      statusBadge.className = "ended-badge";
    }
    renderSettings();
    renderQueue();
  }

  /** A row redrawn (pinned, hidden…) is a new node: keep the keyboard on it. */
  function restoreFocus() {
    if (!focusedId || view.list.contains(document.activeElement)) return;
    if (document.activeElement !== document.body) return;
    const row = view.list.querySelector(`li[data-comment-id="${focusedId}"]`);
    if (row instanceof HTMLElement) row.focus({ preventScroll: true });
    else view.list.focus({ preventScroll: true });
  }

  /** @param {number} now */
  function connectionText(now) {
    if (refused) return refused;
    if (client.joined) return store.status === "ended" ? "Connected · stream ended" : "Live";
    if (store.status === "reconnecting") {
      const seconds = Math.ceil((client.reconnectAt - now) / 1000);
      return seconds > 0 ? `Reconnecting in ${seconds}s…` : "Reconnecting…";
    }
    return "Connecting…";
  }

  setInterval(() => {
    view.announceIfDue(Date.now());
    update();
  }, TICK_MS);
  addEventListener("online", () => connection.reconnectNow());
  addEventListener("pagehide", () => connection.stop());
  addEventListener("pageshow", (event) => {
    if (event.persisted) connection.start();
  });
  connection.start();
  update();
}

if (typeof document !== "undefined") start();
