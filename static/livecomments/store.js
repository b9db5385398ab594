// @ts-check
/**
 * The live comments state of one stream page (the seed's Steps 5, 6 and 8), with no DOM
 * and no clock of its own: every method that depends on time takes `now` (ms), so the
 * rules are unit-tested with `node --test tests/js/`.
 *
 * It holds the real comments (capped, ascending by id), the optimistic comments this
 * browser wrote, the pinned comments, the viewer count and the rate-limit cooldown.
 */

import { MAX_CONTENT_CHARS, REASONS, SNOWFLAKE } from "./protocol.js";

/**
 * @typedef {import('./protocol').CommentOut} Comment
 * @typedef {import('./protocol').AckPayload} Ack
 * @typedef {import('./protocol').ErrorCode} ErrorCode
 * @typedef {import('./protocol').StreamStatePayload} StreamState
 * @typedef {import('./protocol').Restriction} Restriction
 * @typedef {import('./protocol').StreamSettings} StreamSettings
 * @typedef {import('./protocol').ModeratePayload} ModeratePayload
 * @typedef {ModeratePayload['action']} ModerationAction
 * @typedef {import('./protocol').ReportPayload} ReportPayload
 * @typedef {ReportPayload['reason']} ReportReason
 * @typedef {import('./protocol').EditCommentPayload} EditCommentPayload
 * @typedef {import('./protocol').DeleteCommentPayload} DeleteCommentPayload
 */

/** Real comments kept (and so rendered): enough to scroll back, small enough to stay fast. */
export const COMMENT_LIMIT = 500;
/** Unconfirmed comments a viewer may have at once (SPEC §6). */
export const MAX_PENDING = 10;
/** A pending comment older than this is given up on rather than posted late. */
export const PENDING_MAX_AGE_MS = 5 * 60 * 1000;
/** How long after posting its author may edit a comment (SPEC §3); deleting has no limit. */
export const EDIT_WINDOW_MS = 5 * 60 * 1000;
/** Retries after the first send (the seed's retryCount). */
export const MAX_RETRIES = 3;
export const RECONNECT_BASE_MS = 1000;
export const RECONNECT_MAX_MS = 30_000;
// Spreads reconnects after a gateway restart so thousands of viewers do not all return
// in the same instant; the delay stays within [80 %, 100 %] of the nominal backoff.
const RECONNECT_JITTER = 0.2;

/**
 * How far back before the newest comment seen a resume asks from. With several gateways a
 * comment with a lower id can still be on its way when the socket drops; asking from a
 * little earlier and dropping duplicates by id loses none of them.
 */
export const RESUME_OVERLAP_MS = 5000;
const SNOWFLAKE_TIME_SHIFT = BigInt(SNOWFLAKE.workerBits + SNOWFLAKE.sequenceBits);

/**
 * The id to resume after: `lastSeenCommentId` moved back by RESUME_OVERLAP_MS.
 * @param {string | null} lastSeenCommentId
 * @returns {string | null}
 */
export function resumeAfter(lastSeenCommentId) {
  if (lastSeenCommentId === null) return null;
  const back = BigInt(lastSeenCommentId) - (BigInt(RESUME_OVERLAP_MS) << SNOWFLAKE_TIME_SHIFT);
  return (back > 0n ? back : 0n).toString();
}

/**
 * What the composer's counter says of a draft: characters left (negative when over),
 * counted as the server counts (after trimming, by code point), and why Send is off
 * ("" when the length is fine).
 * @param {string} draft
 * @returns {{left: number, tooLong: string}}
 */
export function charactersLeft(draft) {
  const left = MAX_CONTENT_CHARS - [...draft.trim()].length;
  const over = -left;
  return {
    left,
    tooLong: left < 0
      ? `${over} character${over === 1 ? "" : "s"} too many: comments are at most ${MAX_CONTENT_CHARS}.`
      : "",
  };
}

/** Order Snowflake ids (decimal strings too big for a JS number) without parsing them. */
export function compareIds(/** @type {string} */ a, /** @type {string} */ b) {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): 1 s, 2 s, 4 s … capped at 30 s.
 * @param {number} attempt
 * @param {() => number} [random] in [0, 1); injected by tests
 */
export function reconnectDelay(attempt, random = Math.random) {
  const nominal = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** attempt);
  return Math.round(nominal * (1 - RECONNECT_JITTER * random()));
}

/**
 * @typedef {'sending' | 'retrying' | 'sent' | 'held' | 'denied' | 'rejected' | 'failed'} OptimisticStatus
 * sending: waiting for a connection or for its ack; retrying: waiting until `retryAt`;
 * sent: accepted, shown until its real comment arrives; rejected: refused with `code`;
 * failed: given up after PENDING_MAX_AGE_MS or MAX_RETRIES.
 *
 * @typedef {object} OptimisticComment
 * @property {string} idempotencyKey
 * @property {string} content
 * @property {string | null} parentId
 * @property {OptimisticStatus} status
 * @property {number} addedAt
 * @property {number} attempts times sent over a socket
 * @property {boolean} awaitingAck sent on the current socket, no ack yet
 * @property {number | null} retryAt
 * @property {ErrorCode | null} code
 * @property {string | null} commentId
 *
 * @typedef {Pick<OptimisticComment, 'idempotencyKey' | 'content' | 'parentId' | 'addedAt' | 'attempts'>} StoredPending
 *
 * @typedef {{key: string, comment: Comment, optimistic: null}
 *   | {key: string, comment: null, optimistic: OptimisticComment}} DisplayItem
 */

const UNRESOLVED = new Set(["sending", "retrying"]);

/** @param {number} minutes */
function duration(minutes) {
  if (minutes % (24 * 60) === 0) return plural(minutes / (24 * 60), "day");
  if (minutes % 60 === 0) return plural(minutes / 60, "hour");
  return plural(minutes, "minute");
}

/** @param {number} count @param {string} unit */
function plural(count, unit) {
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

/** @param {string} text */
function capitalized(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** @param {number} ms */
function clockTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// --- Moderation from the page ------------------------------------------------------------

/** The timeouts a moderator picks from in a comment's menu, shortest first. */
export const TIMEOUTS = [
  { seconds: 60, label: "1 min" },
  { seconds: 10 * 60, label: "10 min" },
  { seconds: 60 * 60, label: "1 h" },
  { seconds: 24 * 60 * 60, label: "24 h" },
];

/**
 * One entry of a comment's ⋮ menu: a moderation, or a viewer's report with its reason.
 * @typedef {object} ModerationChoice
 * @property {ModerationAction | 'report' | 'edit' | 'delete'} action
 * @property {'comment' | 'timeout' | 'ban' | 'report' | 'own'} group the menu's row: the comment, its author, a report, or the author's own edit and delete
 * @property {string} label what the button says
 * @property {string} name its accessible name, which says on whom it acts
 * @property {number} [durationSeconds] for a timeout
 * @property {ReportReason} [reason] for a report
 * @property {string} [confirm] the question asked before it is done (a delete)
 *
 * A moderation sent and not yet acked; kept to say how it went, and sent again with the
 * same key after a reconnect (the server answers a key once, so a repeat changes nothing).
 * @typedef {{payload: ModeratePayload, username: string}} ModerationRequest
 */

/** How each action is said: the verb, its past, and what it is doing. */
const ACTION_WORDS = /** @type {Record<ModerationAction, [string, string, string]>} */ ({
  approve: ["approve", "approved", "approving"],
  deny: ["deny", "denied", "denying"],
  dismiss_reports: ["dismiss the reports on", "dismissed the reports on", "dismissing the reports on"],
  pin: ["pin", "pinned", "pinning"],
  unpin: ["unpin", "unpinned", "unpinning"],
  highlight: ["highlight", "highlighted", "highlighting"],
  unhighlight: ["unhighlight", "unhighlighted", "unhighlighting"],
  hide: ["hide", "hid", "hiding"],
  unhide: ["unhide", "unhid", "unhiding"],
  timeout: ["time out", "timed out", "timing out"],
  ban: ["ban", "banned", "banning"],
  unban: ["unban", "unbanned", "unbanning"],
  settings: ["change the settings of", "changed the settings of", "changing the settings of"],
  shield_on: ["turn shield mode on for", "turned shield mode on for", "turning shield mode on for"],
  shield_off: ["turn shield mode off for", "turned shield mode off for", "turning shield mode off for"],
});
const USER_ACTIONS = new Set(["timeout", "ban", "unban"]);

/**
 * What a moderator (or the host) may do to a comment from its menu, in the menu's order.
 * The page offers no timeout or ban of the host, a moderator or oneself.
 * @param {Comment} comment
 * @param {string | null} viewerId
 * @returns {ModerationChoice[]}
 */
export function moderationChoices(comment, viewerId) {
  const whose = `${comment.username}'s comment`;
  /** @type {ModerationChoice[]} */
  const choices = [
    comment.isPinned
      ? { action: "unpin", group: "comment", label: "Unpin", name: `Unpin ${whose}` }
      : { action: "pin", group: "comment", label: "Pin", name: `Pin ${whose}` },
    comment.isHighlighted
      ? { action: "unhighlight", group: "comment", label: "Unhighlight", name: `Unhighlight ${whose}` }
      : { action: "highlight", group: "comment", label: "Highlight", name: `Highlight ${whose}` },
    { action: "hide", group: "comment", label: "Hide", name: `Hide ${whose}` },
  ];
  if (comment.authorRole !== "viewer" || comment.userId === viewerId) return choices;
  for (const { seconds, label } of TIMEOUTS) {
    choices.push({
      action: "timeout", group: "timeout", label, durationSeconds: seconds,
      name: `Time out ${comment.username} for ${duration(seconds / 60)}`,
    });
  }
  choices.push({ action: "ban", group: "ban", label: `Ban ${comment.username}`, name: `Ban ${comment.username} from this stream` });
  return choices;
}

// --- Reports from viewers ----------------------------------------------------------------

/**
 * What a viewer may report a comment for, in the menu's order, as the button says it.
 * Typed against the protocol's reasons, so a reason added in Python fails `tsc` here
 * until it has words.
 * @type {Readonly<Record<ReportReason, string>>}
 */
export const REPORT_REASONS = Object.freeze({
  spam: "Spam",
  harassment: "Harassment",
  hate: "Hate",
  sexual: "Sexual content",
  violence: "Violence",
  other: "Something else",
});

// Refusals of a report as its reporter reads them; other codes say what REASONS says.
/** @type {Partial<Record<ErrorCode, string>>} */
const REPORT_REFUSALS = {
  FORBIDDEN: "You cannot report your own comment.",
  NOT_FOUND: "That comment is no longer there.",
  UNAUTHORIZED: "Log in to report a comment.",
};

/**
 * A report this viewer sent: "sending" until its ack, then "reported". Remembered by
 * comment id, so the comment stays marked however often it is drawn again.
 * @typedef {{payload: ReportPayload, username: string, status: 'sending' | 'reported'}} ViewerReport
 */

/**
 * The report entries of a comment's ⋮ menu: one per reason, for a signed-in viewer on
 * someone else's comment that they have not reported yet. Moderators get none: they hide
 * what they would report.
 * @param {Comment} comment
 * @param {{id: string, moderates: boolean} | null} viewer
 * @param {LiveStore} store
 * @returns {ModerationChoice[]}
 */
export function reportChoices(comment, viewer, store) {
  if (!viewer || viewer.moderates || comment.userId === viewer.id || store.reportStatus(comment.id)) return [];
  return Object.entries(REPORT_REASONS).map(([reason, label]) => ({
    action: "report", group: "report", label, reason: /** @type {ReportReason} */ (reason),
    name: `Report ${comment.username}'s comment: ${label.toLowerCase()}`,
  }));
}

/**
 * The author's own entries of a comment's ⋮ menu: Edit while within EDIT_WINDOW_MS of
 * posting, Delete always (after a confirm step). Nobody else's comment gets them.
 * @param {Comment} comment
 * @param {string | null} viewerId
 * @param {number} now
 * @returns {ModerationChoice[]}
 */
export function ownChoices(comment, viewerId, now) {
  if (viewerId === null || comment.userId !== viewerId) return [];
  /** @type {ModerationChoice[]} */
  const choices = [];
  if (now - Date.parse(comment.createdAt) < EDIT_WINDOW_MS) {
    choices.push({ action: "edit", group: "own", label: "Edit", name: "Edit your comment" });
  }
  choices.push({
    action: "delete", group: "own", label: "Delete", name: "Delete your comment",
    confirm: "Delete your comment for everyone?",
  });
  return choices;
}

/** What a comment's ⋮ still does once its stream has ended. */
const AFTER_THE_END = new Set(["hide", "report", "delete"]);

/**
 * The choices of a comment's ⋮ on an ended stream's page (its replay), as a replay viewer
 * expects them: a moderator hides (gone from every replay at once), a viewer reports, an
 * author deletes their own. Pins, highlights, timeouts, bans and edits were the live chat's.
 * @param {ModerationChoice[]} choices
 */
export function choicesAfterTheEnd(choices) {
  return choices.filter((choice) => AFTER_THE_END.has(choice.action));
}

/**
 * An edit or delete of this viewer's own comment, sent and not yet acked; sent again
 * with the same key after a reconnect.
 * @typedef {{kind: 'edit', payload: EditCommentPayload} | {kind: 'delete', payload: DeleteCommentPayload}} OwnRequest
 */

/** @param {ModerationRequest} request */
function moderationObject({ payload, username }) {
  if (!USER_ACTIONS.has(payload.action)) return `${username}'s comment`;
  if (payload.durationSeconds) return `${username} for ${duration(payload.durationSeconds / 60)}`;
  return username;
}

export class LiveStore {
  /** @param {string} streamId */
  constructor(streamId) {
    this.streamId = streamId;
    this.title = "";
    /** @type {'connecting' | 'live' | 'reconnecting' | 'ended'} */
    this.status = "connecting";
    this.viewerCount = 0;
    /** @type {Comment[]} ascending by id */
    this.comments = [];
    /** @type {Map<string, Comment>} */
    this.commentsById = new Map();
    /** @type {OptimisticComment[]} in the order they were written */
    this.optimistic = [];
    /** @type {Comment[]} */
    this.pinned = [];
    /** @type {string | null} the newest real comment seen, for resume */
    this.lastSeenCommentId = null;
    /** @type {Map<string, number>} the last live batch number seen from each gateway */
    this.batchSeqs = new Map();
    this.rateLimitedUntil = 0;
    /** @type {Restriction | null} this user's ban or timeout on the stream */
    this.restriction = null;
    /** @type {StreamSettings | null} the chat's modes */
    this.settings = null;
    /** @type {Map<string, ModerationRequest>} moderations sent from the page, by key, until acked */
    this.moderations = new Map();
    /** @type {Map<string, ViewerReport>} this viewer's reports, by comment id */
    this.reports = new Map();
    /** @type {Map<string, OwnRequest>} edits and deletes of own comments, by key, until acked */
    this.ownRequests = new Map();
    /** @type {Set<string>} own comments whose last edit a rule holds for review */
    this.heldEdits = new Set();
    /** @type {{like?: number, love?: number, haha?: number, wow?: number, sad?: number, angry?: number}} the stream's reactions so far */
    this.reactionTotals = {};
  }

  // --- From the server ---------------------------------------------------------------

  /** @param {StreamState} state */
  applyStreamState(state) {
    this.title = state.title;
    this.status = state.status === "ended" ? "ended" : "live";
    this.viewerCount = state.viewerCount;
    this.pinned = byNewestFirst(state.pinnedComments);
    this.restriction = state.restriction ?? null;
    this.settings = state.settings;
    // The stream's totals so far at this join; each reactions_batch after it adds its own.
    this.reactionTotals = { ...(state.reactionTotals ?? {}) };
  }

  /** @param {import('./protocol').ReactionsBatchPayload['counts']} counts one interval's reactions */
  applyReactions(counts) {
    for (const [type, count] of Object.entries(counts)) {
      const reaction = /** @type {keyof LiveStore['reactionTotals']} */ (type);
      if (count) this.reactionTotals[reaction] = (this.reactionTotals[reaction] ?? 0) + count;
    }
  }

  /** @param {StreamSettings} settings a moderator changed the chat's modes */
  applySettings(settings) {
    this.settings = settings;
  }

  /** The chat's modes in words, as everyone sees them ("" when none is on). */
  modesText() {
    const settings = this.settings;
    if (!settings) return "";
    const parts = [];
    if (settings.shield) parts.push("Shield mode is on.");
    if (settings.locked) parts.push("Chat is locked to moderators.");
    if (settings.slowModeSeconds) {
      parts.push(`Slow mode: one comment every ${settings.slowModeSeconds} s.`);
    }
    if (settings.minAccountAgeMinutes) {
      parts.push(`Accounts newer than ${duration(settings.minAccountAgeMinutes)} can't comment.`);
    }
    if (settings.holdLinks) parts.push("Comments with links wait for a moderator.");
    return parts.join(" ");
  }

  /** @param {Restriction | null} restriction a ban landed, was lifted or ran out */
  applyRestriction(restriction) {
    this.restriction = restriction;
  }

  /**
   * Why this user may not post or react right now ("" when nothing stops them): a
   * timeout says until when, and stops applying by itself at that moment.
   * @param {number} now
   * @param {(ms: number) => string} [timeOf] how a moment is written for the viewer
   */
  restrictionText(now, timeOf = clockTime) {
    const restriction = this.restriction;
    if (!restriction || (restriction.until !== null && restriction.until <= now)) return "";
    const why = restriction.reason ? ` — ${restriction.reason}` : "";
    if (restriction.until === null) return `${REASONS.BANNED}${why}`;
    return `Timed out until ${timeOf(restriction.until)}${why}`;
  }

  /**
   * Note a live batch's number; return true when batches from its gateway went missing
   * (the channel layer delivers at most once), so the caller resumes to recover them.
   * @param {string | null | undefined} gatewayId
   * @param {number | null | undefined} seq
   */
  noteBatchSeq(gatewayId, seq) {
    if (!gatewayId || typeof seq !== "number") return false;
    const last = this.batchSeqs.get(gatewayId);
    this.batchSeqs.set(gatewayId, seq);
    return last !== undefined && seq > last + 1;
  }

  /**
   * Merge a batch; return the comments that were new (a resume overlaps what we had).
   * @param {Comment[]} batch
   */
  applyBatch(batch) {
    /** @type {Comment[]} */
    const added = [];
    for (const comment of batch) {
      if (this.commentsById.has(comment.id)) continue;
      this.insertInOrder(comment);
      added.push(comment);
      if (this.lastSeenCommentId === null || compareIds(comment.id, this.lastSeenCommentId) > 0) {
        this.lastSeenCommentId = comment.id;
      }
    }
    if (added.length) {
      const arrived = new Set(added.map((comment) => comment.id));
      this.optimistic = this.optimistic.filter(
        (entry) => !(entry.commentId && arrived.has(entry.commentId)),
      );
      this.enforceCap();
    }
    return added;
  }

  /** @param {Comment} comment */
  applyCommentUpdated(comment) {
    const before = this.commentsById.get(comment.id);
    // The held edit was approved: its text is the comment's now.
    if (before && comment.editedAt !== before.editedAt) this.heldEdits.delete(comment.id);
    if (this.commentsById.has(comment.id)) {
      const index = this.comments.findIndex((existing) => existing.id === comment.id);
      this.comments[index] = comment;
      this.commentsById.set(comment.id, comment);
    }
    const others = this.pinned.filter((existing) => existing.id !== comment.id);
    this.pinned = comment.isPinned ? byNewestFirst([...others, comment]) : others;
  }

  /** @param {string[]} commentIds */
  applyRemoved(commentIds) {
    const removed = new Set(commentIds);
    this.comments = this.comments.filter((comment) => !removed.has(comment.id));
    for (const id of removed) this.commentsById.delete(id);
    this.pinned = this.pinned.filter((comment) => !removed.has(comment.id));
    this.optimistic = this.optimistic.filter(
      (entry) => !(entry.commentId && removed.has(entry.commentId)),
    );
  }

  applyStreamEnded() {
    this.status = "ended";
    for (const entry of this.optimistic) {
      if (UNRESOLVED.has(entry.status)) this.reject(entry, "STREAM_ENDED");
    }
  }

  /**
   * Reconcile an ack with the optimistic comment it answers.
   * @param {Ack} ack
   * @param {number} now
   */
  applyAck(ack, now) {
    const entry = this.optimistic.find((item) => item.idempotencyKey === ack.idempotencyKey);
    if (!entry) return;
    entry.awaitingAck = false;
    if (ack.status === "accepted" && ack.commentId) {
      if (this.commentsById.has(ack.commentId)) {
        this.optimistic = this.optimistic.filter((item) => item !== entry);
        return;
      }
      Object.assign(entry, { status: "sent", commentId: ack.commentId, retryAt: null, code: null });
    } else if (ack.status === "held" && ack.commentId) {
      // Stored, but shown to nobody else until a moderator approves it.
      Object.assign(entry, { status: "held", commentId: ack.commentId, retryAt: null, code: null });
    } else if (ack.status === "rate_limited") {
      const retryAt = now + Math.max(1, ack.retryAfter ?? 1) * 1000;
      Object.assign(entry, { status: "retrying", retryAt, code: "RATE_LIMITED" });
      this.rateLimitedUntil = Math.max(this.rateLimitedUntil, retryAt);
    } else if (ack.code === "UNAVAILABLE") {
      // Nothing was stored; back off as for a reconnect: 1 s, 2 s, 4 s.
      const retryAt = now + reconnectDelay(Math.max(0, entry.attempts - 1), () => 0);
      Object.assign(entry, { status: "retrying", retryAt, code: ack.code });
    } else {
      this.reject(entry, ack.code ?? "INVALID_MESSAGE");
    }
  }

  /**
   * A moderator decided on this viewer's held comment: approved, it goes out like any
   * other (the live feed brings it); denied, it stays with its author, marked so.
   * @param {import('./protocol').CommentReviewedPayload} reviewed
   */
  applyReviewed(reviewed) {
    const entry = this.optimistic.find((item) => item.commentId === reviewed.commentId);
    if (!entry || entry.status !== "held") return;
    if (reviewed.decision === "denied") entry.status = "denied";
    else if (this.commentsById.has(reviewed.commentId)) {
      this.optimistic = this.optimistic.filter((item) => item !== entry);
    } else entry.status = "sent";
  }

  /**
   * The answer to a moderation this page sent: what to tell the moderator, or null when
   * the ack is for something else (a comment).
   * @param {Ack} ack
   */
  applyModerationAck(ack) {
    const request = this.moderations.get(ack.idempotencyKey);
    if (!request) return null;
    this.moderations.delete(ack.idempotencyKey);
    const [verb, past] = ACTION_WORDS[request.payload.action];
    const object = moderationObject(request);
    if (ack.status === "accepted") return `${capitalized(past)} ${object}.`;
    return `Could not ${verb} ${object}: ${REASONS[ack.code ?? "INVALID_MESSAGE"]}`;
  }

  /**
   * The answer to a report this viewer sent: what to tell them, or null when the ack is
   * for something else. Accepted (a repeat is accepted too), the comment stays marked
   * "Reported"; refused, the mark goes and the report may be made again.
   * @param {Ack} ack
   */
  applyReportAck(ack) {
    const entry = [...this.reports.values()].find((item) => item.payload.idempotencyKey === ack.idempotencyKey);
    if (!entry) return null;
    const whose = `${entry.username}'s comment`;
    if (ack.status === "accepted") {
      entry.status = "reported";
      return `Reported ${whose}. Thank you: a moderator will look at it.`;
    }
    this.reports.delete(entry.payload.commentId);
    const code = ack.code ?? "INVALID_MESSAGE";
    return `Could not report ${whose}: ${REPORT_REFUSALS[code] ?? REASONS[code]}`;
  }

  /**
   * The answer to an edit or delete of an own comment: what to tell the author, or null
   * when the ack is for something else. A held edit leaves the old text showing, marked.
   * @param {Ack} ack
   */
  applyOwnAck(ack) {
    const request = this.ownRequests.get(ack.idempotencyKey);
    if (!request) return null;
    this.ownRequests.delete(ack.idempotencyKey);
    const { commentId } = request.payload;
    if (request.kind === "delete") {
      if (ack.status === "accepted") {
        this.applyRemoved([commentId]);
        return "Your comment was deleted.";
      }
      return `Could not delete your comment: ${REASONS[ack.code ?? "INVALID_MESSAGE"]}`;
    }
    if (ack.status === "held") {
      this.heldEdits.add(commentId);
      return "Edit held for review: the old text shows until a moderator approves it.";
    }
    if (ack.status === "accepted") {
      this.heldEdits.delete(commentId);
      return "Your comment was edited.";
    }
    const code = ack.code ?? "INVALID_MESSAGE";
    const why = code === "FORBIDDEN" ? "comments can be edited for 5 minutes after posting." : REASONS[code];
    return `Could not edit your comment: ${why}`;
  }

  // --- From this viewer --------------------------------------------------------------

  /**
   * An edit of the viewer's own comment, as the `edit_comment` payload to send, or why not.
   * @param {Comment} comment
   * @param {string} content
   * @param {{idempotencyKey: string}} options
   * @returns {{ok: true, payload: EditCommentPayload} | {ok: false, reason: string}}
   */
  edit(comment, content, { idempotencyKey }) {
    const trimmed = content.trim();
    if (!trimmed || [...trimmed].length > MAX_CONTENT_CHARS) return { ok: false, reason: REASONS.INVALID_MESSAGE };
    if (this.status === "ended") return { ok: false, reason: REASONS.STREAM_ENDED };
    /** @type {EditCommentPayload} */
    const payload = { streamId: this.streamId, commentId: comment.id, content: trimmed, idempotencyKey };
    this.ownRequests.set(idempotencyKey, { kind: "edit", payload });
    return { ok: true, payload };
  }

  /**
   * A delete of the viewer's own comment, as the `delete_comment` payload to send.
   * @param {Comment} comment
   * @param {{idempotencyKey: string}} options
   */
  deleteComment(comment, { idempotencyKey }) {
    /** @type {DeleteCommentPayload} */
    const payload = { streamId: this.streamId, commentId: comment.id, idempotencyKey };
    this.ownRequests.set(idempotencyKey, { kind: "delete", payload });
    return payload;
  }

  /** Edits and deletes with no ack yet: sent again, with their keys, after a rejoin. */
  unansweredOwnRequests() {
    return [...this.ownRequests.values()];
  }

  /** @param {string} commentId whether this viewer's last edit of it waits for review */
  editHeld(commentId) {
    return this.heldEdits.has(commentId);
  }

  /**
   * A moderator's choice from a comment's menu, as the `moderate` payload to send; it is
   * remembered until its ack.
   * @param {ModerationChoice} choice
   * @param {Comment} comment
   * @param {{idempotencyKey: string, reason?: string}} options
   * @returns {{payload: ModeratePayload, text: string}} and what to show while it is on its way
   */
  moderate(choice, comment, { idempotencyKey, reason = "" }) {
    const action = choice.action;
    if (action === "report" || action === "edit" || action === "delete") {
      throw new Error(`${action} is not a moderation`);
    }
    /** @type {ModeratePayload} */
    const payload = { streamId: this.streamId, action, idempotencyKey };
    if (USER_ACTIONS.has(action)) payload.userId = comment.userId;
    else payload.commentId = comment.id;
    if (choice.durationSeconds) payload.durationSeconds = choice.durationSeconds;
    if (reason.trim()) payload.reason = reason.trim();
    const request = { payload, username: comment.username };
    this.moderations.set(idempotencyKey, request);
    return { payload, text: `${capitalized(ACTION_WORDS[action][2])} ${moderationObject(request)}…` };
  }

  /**
   * A viewer's report of a comment, as the `report` payload to send; the comment is
   * marked at once and stays marked unless the server refuses.
   * @param {Comment} comment
   * @param {ReportReason} reason
   * @param {{idempotencyKey: string}} options
   */
  report(comment, reason, { idempotencyKey }) {
    /** @type {ReportPayload} */
    const payload = { streamId: this.streamId, commentId: comment.id, reason, idempotencyKey };
    this.reports.set(comment.id, { payload, username: comment.username, status: "sending" });
    return { payload, text: `Reporting ${comment.username}'s comment…` };
  }

  /**
   * "sending", "reported", or null when this viewer has not reported the comment.
   * @param {string} commentId
   */
  reportStatus(commentId) {
    return this.reports.get(commentId)?.status ?? null;
  }

  /** Reports with no ack yet: sent again, with their keys, after a rejoin. */
  unansweredReports() {
    return [...this.reports.values()].filter((entry) => entry.status === "sending").map((entry) => entry.payload);
  }

  /** Moderations with no ack yet: sent again, with their keys, after a rejoin. */
  unansweredModerations() {
    return [...this.moderations.values()].map((request) => request.payload);
  }

  /**
   * Add what the viewer wrote as an optimistic comment, or say why it cannot be sent.
   * @param {{content: string, parentId: string | null, idempotencyKey: string, now: number}} draft
   * @returns {{ok: true, entry: OptimisticComment} | {ok: false, reason: string}}
   */
  compose({ content, parentId, idempotencyKey, now }) {
    const trimmed = content.trim();
    if (!trimmed || [...trimmed].length > MAX_CONTENT_CHARS) {
      return { ok: false, reason: REASONS.INVALID_MESSAGE };
    }
    if (this.status === "ended") return { ok: false, reason: REASONS.STREAM_ENDED };
    const restricted = this.restrictionText(now);
    if (restricted) return { ok: false, reason: restricted };
    if (this.unresolved().length >= MAX_PENDING) {
      return { ok: false, reason: `At most ${MAX_PENDING} comments can wait to be sent.` };
    }
    /** @type {OptimisticComment} */
    const entry = {
      idempotencyKey, content: trimmed, parentId, status: "sending", addedAt: now,
      attempts: 0, awaitingAck: false, retryAt: null, code: null, commentId: null,
    };
    this.optimistic.push(entry);
    return { ok: true, entry };
  }

  /**
   * The optimistic comments to send over the socket now. Call whenever the socket has
   * joined, a comment was composed, or time passed; entries past their age or retries
   * become failed instead.
   * @param {number} now
   */
  dueForSending(now) {
    // During a cooldown every post would be refused again and burn a retry.
    if (now < this.rateLimitedUntil || this.status === "ended") return [];
    const due = this.optimistic.filter(
      (entry) =>
        (entry.status === "sending" && !entry.awaitingAck) ||
        (entry.status === "retrying" && (entry.retryAt ?? 0) <= now),
    );
    return due.filter((entry) => {
      if (now - entry.addedAt > PENDING_MAX_AGE_MS || entry.attempts > MAX_RETRIES) {
        Object.assign(entry, { status: "failed", retryAt: null });
        return false;
      }
      Object.assign(entry, { status: "sending", attempts: entry.attempts + 1, awaitingAck: true });
      return true;
    });
  }

  /** The socket closed: anything sent on it without an ack is sent again on the next. */
  connectionLost() {
    if (this.status !== "ended") this.status = "reconnecting";
    for (const entry of this.optimistic) entry.awaitingAck = false;
  }

  /** @param {string} idempotencyKey */
  dismiss(idempotencyKey) {
    this.optimistic = this.optimistic.filter((entry) => entry.idempotencyKey !== idempotencyKey);
  }

  // --- Derived ----------------------------------------------------------------------

  /** Whole seconds left in the rate-limit cooldown; 0 when the viewer may post. */
  cooldownSeconds(/** @type {number} */ now) {
    return Math.max(0, Math.ceil((this.rateLimitedUntil - now) / 1000));
  }

  unresolved() {
    return this.optimistic.filter((entry) => UNRESOLVED.has(entry.status));
  }

  /** The pending queue as kept in localStorage across a reload. */
  pendingForStorage() {
    return this.unresolved().map(({ idempotencyKey, content, parentId, addedAt, attempts }) => ({
      idempotencyKey, content, parentId, addedAt, attempts,
    }));
  }

  /** @param {StoredPending[]} stored */
  restorePending(stored) {
    const known = new Set(this.optimistic.map((entry) => entry.idempotencyKey));
    for (const item of stored.slice(0, MAX_PENDING)) {
      if (known.has(item.idempotencyKey)) continue;
      this.optimistic.push({
        ...item, status: "sending", awaitingAck: false, retryAt: null, code: null, commentId: null,
      });
    }
  }

  /**
   * What the comment list shows, in order: real comments and accepted ones by id, then
   * the comments still on their way, in the order they were written.
   * @returns {DisplayItem[]}
   */
  displayItems() {
    const accepted = this.optimistic
      .filter((entry) => entry.status === "sent")
      .sort((a, b) => compareIds(/** @type {string} */ (a.commentId), /** @type {string} */ (b.commentId)));
    /** @type {DisplayItem[]} */
    const items = [];
    let next = 0;
    for (const comment of this.comments) {
      while (next < accepted.length && compareIds(/** @type {string} */ (accepted[next].commentId), comment.id) < 0) {
        items.push(optimisticItem(accepted[next++]));
      }
      items.push({ key: comment.id, comment, optimistic: null });
    }
    for (const entry of accepted.slice(next)) items.push(optimisticItem(entry));
    for (const entry of this.optimistic) {
      if (entry.status !== "sent") items.push(optimisticItem(entry));
    }
    return items;
  }

  /** @param {string} id */
  findComment(id) {
    return this.commentsById.get(id) ?? this.pinned.find((comment) => comment.id === id) ?? null;
  }

  // --- Internals --------------------------------------------------------------------

  /** @param {Comment} comment */
  insertInOrder(comment) {
    this.commentsById.set(comment.id, comment);
    const last = this.comments[this.comments.length - 1];
    if (!last || compareIds(comment.id, last.id) > 0) {
      this.comments.push(comment);
      return;
    }
    // Batches from different gateways may interleave; find the place by binary search.
    let low = 0;
    let high = this.comments.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compareIds(this.comments[middle].id, comment.id) < 0) low = middle + 1;
      else high = middle;
    }
    this.comments.splice(low, 0, comment);
  }

  enforceCap() {
    if (this.comments.length <= COMMENT_LIMIT) return;
    const dropped = this.comments.splice(0, this.comments.length - COMMENT_LIMIT);
    for (const comment of dropped) this.commentsById.delete(comment.id);
    // An accepted comment the live feed sampled away would otherwise stay forever.
    const oldest = this.comments[0].id;
    this.optimistic = this.optimistic.filter(
      (entry) => !(entry.status === "sent" && compareIds(/** @type {string} */ (entry.commentId), oldest) < 0),
    );
  }

  /**
   * @param {OptimisticComment} entry
   * @param {ErrorCode} code
   */
  reject(entry, code) {
    Object.assign(entry, { status: "rejected", code, retryAt: null, awaitingAck: false });
  }
}

/**
 * Pinned comments in one order for every viewer, whether present at the pinning or
 * joining later: the frames carry no pin time, so the newest comment first.
 * @param {Comment[]} comments
 */
function byNewestFirst(comments) {
  return [...comments].sort((a, b) => compareIds(b.id, a.id));
}

/** @param {OptimisticComment} entry @returns {DisplayItem} */
function optimisticItem(entry) {
  return { key: `pending:${entry.idempotencyKey}`, comment: null, optimistic: entry };
}

/**
 * The pending queue in localStorage, per stream and user so that another account on the
 * same browser never posts someone else's words.
 */
export class PendingStorage {
  /**
   * @param {Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>} storage
   * @param {string} streamId
   * @param {string} userId
   */
  constructor(storage, streamId, userId) {
    this.storage = storage;
    this.key = `livecomments:pending:${streamId}:${userId}`;
  }

  /** @returns {StoredPending[]} */
  load() {
    try {
      const parsed = JSON.parse(this.storage.getItem(this.key) ?? "[]");
      return Array.isArray(parsed) ? parsed.filter(isStoredPending) : [];
    } catch {
      return []; // A corrupt entry must not break the page.
    }
  }

  /** @param {StoredPending[]} pending */
  save(pending) {
    try {
      if (pending.length) this.storage.setItem(this.key, JSON.stringify(pending));
      else this.storage.removeItem(this.key);
    } catch {
      // Storage full or disabled (private mode): the queue still works until a reload.
    }
  }
}

/** @param {any} item @returns {item is StoredPending} */
function isStoredPending(item) {
  return (
    item !== null && typeof item === "object" &&
    typeof item.idempotencyKey === "string" && typeof item.content === "string" &&
    (item.parentId === null || typeof item.parentId === "string") &&
    typeof item.addedAt === "number" && typeof item.attempts === "number"
  );
}
