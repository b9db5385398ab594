// @ts-check
/**
 * The DOM of the live comments panel. Every piece of user text goes through
 * `textContent`, never `innerHTML`: a comment is data, not markup.
 */

import { REACTION_EMOJI, REASONS } from "./protocol.js";

/**
 * @typedef {import('./protocol').CommentOut} Comment
 * @typedef {import('./protocol').ReactionsBatchPayload} ReactionsBatch
 * @typedef {import('./protocol').ReactionType} ReactionType
 * @typedef {import('./store.js').DisplayItem} DisplayItem
 * @typedef {import('./store.js').OptimisticComment} OptimisticComment
 * @typedef {import('./store.js').LiveStore} LiveStore
 * @typedef {import('./store.js').ModerationChoice} ModerationChoice
 */

/** Within this many pixels of the bottom the reader counts as following the chat. */
const FOLLOW_THRESHOLD_PX = 32;
/**
 * Rows in the list while the reader follows the newest comments, as Twitch keeps 150
 * lines: at 100 comments/s each frame's layout walks these rows, not the store's 500
 * (docs/client.md, "The list at 100 comments/s"). Scrolled up, the reader gets them all.
 */
export const FOLLOWING_ROWS = 150;
/** A screen reader hears at most one summary of new comments this often. */
export const ANNOUNCE_INTERVAL_MS = 5000;
/** Bursts on screen at once, however busy the stream: the animation must stay cheap. */
const MAX_BURSTS = 30;
const BURSTS_PER_TYPE_PER_BATCH = 6;
const PARENT_PREVIEW_CHARS = 80;

/**
 * @template {Element} T
 * @param {ParentNode} root
 * @param {string} selector
 * @param {new () => T} type
 * @returns {T}
 */
function part(root, selector, type) {
  const element = root.querySelector(selector);
  if (!(element instanceof type)) throw new Error(`live comments panel: missing ${selector}`);
  return element;
}

/**
 * An element with a class and, given text, that text (as text, never markup).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} className
 * @param {string} [text]
 */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {string} text @param {number} limit */
function preview(text, limit) {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/**
 * The badge shown after an author's name, or null for a viewer: short on screen, whole
 * for a screen reader.
 * @param {Comment['authorRole'] | undefined} role
 * @returns {{text: string, label: string, className: string} | null}
 */
export function roleBadge(role) {
  if (role === "host") return { text: "Host", label: "Host", className: "role-badge is-host" };
  if (role === "moderator") return { text: "Mod", label: "Moderator", className: "role-badge is-moderator" };
  return null;
}

/** @param {Comment} comment the author's name and, for the host and moderators, a badge */
function authorParts(comment) {
  /** @type {(Node | string)[]} */
  const parts = [element("span", "comment-author", comment.username)];
  const badge = roleBadge(comment.authorRole);
  if (badge) {
    const node = element("span", badge.className, badge.text);
    // role=img gives the short text one whole name; the title shows it to a mouse.
    node.setAttribute("role", "img");
    node.setAttribute("aria-label", badge.label);
    node.title = badge.label;
    parts.push(node);
  }
  return parts;
}

/**
 * Split a comment's text around `@name` mentions of `username` (the signed-in viewer), so
 * the view can mark them with spans of text: never parsed as HTML. Case-insensitive, and
 * only a whole name: "@alice" mentions alice, "@alicex" and "bob@alice.org" do not.
 * @param {string} text
 * @param {string | null} username
 * @returns {{text: string, mention: boolean}[]}
 */
export function mentionParts(text, username) {
  if (!username || !text.includes("@")) return [{ text, mention: false }];
  const name = username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_.@+-])@${name}(?![\\p{L}\\p{N}_@+-]|\\.[\\p{L}\\p{N}])`, "giu");
  /** @type {{text: string, mention: boolean}[]} */
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index ?? 0;
    if (start > last) parts.push({ text: text.slice(last, start), mention: false });
    parts.push({ text: match[0], mention: true });
    last = start + match[0].length;
  }
  if (last < text.length || !parts.length) parts.push({ text: text.slice(last), mention: false });
  return parts;
}

/**
 * A comment's text as a span of text nodes, a mention of the viewer marked.
 * @param {string} content
 * @param {string | null} username
 */
function contentNode(content, username) {
  const text = element("span", "comment-content");
  text.dir = "auto";
  for (const part of mentionParts(content, username)) {
    if (!part.mention) {
      text.append(part.text);
      continue;
    }
    const mention = element("mark", "mention", part.text);
    mention.title = "Mentions you";
    text.append(mention);
    text.classList.add("mentions-me");
  }
  return text;
}

/**
 * When a comment was posted: the hour and minute on screen, the full date as its title.
 * @param {string} createdAt ISO 8601
 */
export function commentTime(createdAt) {
  const time = element("time", "comment-time", shortTime(createdAt));
  time.setAttribute("datetime", createdAt);
  time.title = fullDate(createdAt);
  return time;
}

const COMPACT = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const COUNT = new Intl.NumberFormat();
// Made once: toLocaleString builds a new formatter per call, which was a third of the
// page's script time at 100 comments/s.
const SHORT_TIME = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const FULL_DATE = new Intl.DateTimeFormat([], { dateStyle: "full", timeStyle: "medium" });

/** @param {number} count a reaction count as a button has room for: 987, 1.2K, 3.4M */
export function compactCount(count) {
  return COMPACT.format(count);
}

/** @param {number | string} when ms, or an ISO date */
export function shortTime(when) {
  return SHORT_TIME.format(new Date(when));
}

/**
 * The items the list draws: the newest `followingRows` while the reader follows the chat,
 * all of them when they have scrolled up to read.
 * @template T
 * @param {T[]} items oldest first
 * @param {boolean} following
 * @param {number} followingRows
 * @returns {T[]}
 */
export function rowsToDraw(items, following, followingRows) {
  return following && items.length > followingRows ? items.slice(-followingRows) : items;
}

export class StreamView {
  /**
   * @param {HTMLElement} root the panel, with the data-* parts of streams/detail.html
   * @param {{username: string | null, userId?: string | null, moderates: boolean, reducedMotion: boolean, followingRows?: number}} options
   * a signed-in viewer (username) gets Reply and, on others' comments, a ⋮ to report them;
   * a moderator's ⋮ is on every comment; `followingRows` (the stream page: FOLLOWING_ROWS)
   * caps the rows drawn while the reader follows the newest, which is every row if unset
   */
  constructor(root, options) {
    this.options = options;
    this.list = part(root, "[data-comment-list]", HTMLOListElement);
    this.newCommentsButton = part(root, "[data-new-comments]", HTMLButtonElement);
    this.pinned = part(root, "[data-pinned]", HTMLElement);
    this.viewerCount = part(document, "[data-viewer-count]", HTMLElement);
    this.badge = document.querySelector("[data-stream-badge]");
    this.connection = part(root, "[data-connection]", HTMLElement);
    this.announcer = part(root, "[data-announcer]", HTMLElement);
    this.bursts = part(root, "[data-bursts]", HTMLElement);
    if (options.moderates) this.list.classList.add("is-moderated");
    if (options.username !== null) this.list.classList.add("has-menus");
    /** @type {Map<string, {node: HTMLLIElement, signature: string}>} */
    this.rendered = new Map();
    /** Whether every pinned comment is shown, or only the first. */
    this.pinnedExpanded = false;
    /** @type {{commentId: string, draft: string} | null} the own comment being edited in place */
    this.editing = null;
    /** The stream has ended: no Reply, and the ⋮ says what it still does (app.js sets it). */
    this.ended = false;
    this.unseen = 0;
    /** @type {Comment[]} live comments not yet summarised for a screen reader */
    this.toAnnounce = [];
    this.lastAnnouncedAt = -Infinity;

    /**
     * Whether the reader follows the newest comment. Remembered, not read off the list
     * when drawing: the page around the list (the pinned banner, a status line, the video,
     * the window, a phone's keyboard) changes its height without the reader scrolling, and
     * a list shrunk under a following reader must not count as one who scrolled up.
     */
    this.following = true;
    this.lastScrollTop = 0;
    this.list.addEventListener("scroll", () => {
      // Only the reader scrolls up; what the browser does on its own (clamping the
      // position when the list grows or loses rows) leaves them at the bottom.
      const { scrollTop } = this.list;
      if (this.isAtBottom()) this.following = true;
      else if (scrollTop < this.lastScrollTop) this.following = false;
      this.lastScrollTop = scrollTop;
      if (this.following) this.setUnseen(0);
    });
    // Same frame as the change, before it is painted: no flash of the list cut short.
    new ResizeObserver(() => this.stayAtNewest()).observe(this.list);
    // A font arriving re-wraps the rows, which changes what the list holds, not its size.
    document.fonts.addEventListener("loadingdone", () => this.stayAtNewest());
    this.pinned.addEventListener("click", (event) => {
      if (!(/** @type {HTMLElement} */ (event.target).closest("[data-pinned-toggle]"))) return;
      this.pinnedExpanded = !this.pinnedExpanded;
      this.onPinnedToggle();
    });
    /** Called when the pinned banner opens or closes, to draw it again. */
    this.onPinnedToggle = () => {};
    this.newCommentsButton.addEventListener("click", () => {
      this.scrollToNewest();
      this.list.focus();
    });
  }

  // --- Comments ---------------------------------------------------------------------

  /**
   * Bring the list in line with the store without rebuilding it, keeping the reader's
   * place when they have scrolled up.
   * @param {LiveStore} store
   * @param {number} newlyArrived real comments added since the last render
   * @param {number} now
   */
  renderComments(store, newlyArrived, now) {
    const following = this.following;
    const anchor = following ? null : this.topVisible();
    const items = rowsToDraw(store.displayItems(), following, this.options.followingRows ?? Infinity);
    const wanted = new Set(items.map((item) => item.key));
    for (const [key, entry] of this.rendered) {
      if (!wanted.has(key)) {
        entry.node.remove();
        this.rendered.delete(key);
      }
    }
    /** @type {ChildNode | null} */
    let cursor = this.list.firstChild;
    for (const item of items) {
      const stale = this.rendered.get(item.key)?.node;
      const node = this.upToDate(item, store, now);
      if (stale && stale !== node) {
        if (stale === cursor) cursor = cursor.nextSibling;
        stale.remove();
      }
      if (node === cursor) cursor = cursor.nextSibling;
      else this.list.insertBefore(node, cursor);
    }
    if (following) {
      this.scrollToNewest();
    } else {
      if (anchor && anchor.node.isConnected) {
        this.list.scrollTop = anchor.node.offsetTop - anchor.offset;
      }
      this.setUnseen(this.unseen + newlyArrived);
    }
  }

  /**
   * The node for an item: the rendered one when nothing visible changed, else a new one.
   * @param {DisplayItem} item @param {LiveStore} store @param {number} now
   */
  upToDate(item, store, now) {
    const signature = item.comment
      ? `${commentSignature(item.comment, store)}|${this.editing?.commentId === item.comment.id}|${this.ended}`
      : optimisticSignature(item.optimistic, now);
    const existing = this.rendered.get(item.key);
    if (existing && existing.signature === signature) return existing.node;
    const node = item.comment
      ? this.commentNode(item.comment, store)
      : this.optimisticNode(item.optimistic, store, now);
    this.rendered.set(item.key, { node, signature });
    return node;
  }

  /** @param {Comment} comment @param {LiveStore} store */
  commentNode(comment, store) {
    const node = this.shell(authorParts(comment), comment.content, comment.parentId, store);
    node.dataset.commentId = comment.id;
    node.querySelector(".comment-author")?.before(commentTime(comment.createdAt), " ");
    if (node.querySelector(".mention")) node.classList.add("is-mention");
    if (comment.isHighlighted) {
      node.classList.add("is-highlighted");
      node.querySelector(".comment-content")?.before(element("span", "comment-badge", "Highlighted"), " ");
    }
    if (comment.editedAt) {
      const edited = element("span", "comment-edited", "(edited)");
      edited.title = `Edited ${fullDate(comment.editedAt)}`;
      node.querySelector(".comment-content")?.after(" ", edited);
    }
    if (store.editHeld(comment.id)) node.append(element("span", "comment-status", "Edit held for review"));
    if (this.editing?.commentId === comment.id) this.editor(node, this.editing);
    if (this.options.username !== null && !this.ended) {
      const reply = element("button", "comment-reply", "Reply");
      reply.setAttribute("type", "button");
      reply.setAttribute("tabindex", "-1");
      reply.setAttribute("aria-label", `Reply to ${comment.username}`);
      reply.dataset.replyTo = comment.id;
      node.append(reply);
    }
    const reported = store.reportStatus(comment.id);
    if (reported) {
      const mark = element("span", "comment-reported", reported === "reported" ? "Reported" : "Reporting…");
      mark.title = "You reported this comment; moderators will look at it.";
      node.append(" ", mark);
    }
    const own = this.options.username !== null && comment.userId === this.options.userId;
    const reportable = this.options.username !== null && !own && !reported;
    if (this.options.moderates || reportable || own) {
      const menu = element("button", "comment-menu-button", "⋮");
      menu.setAttribute("type", "button");
      menu.setAttribute("tabindex", "-1");
      const label = this.options.moderates ? `Moderate ${comment.username}'s comment`
        : own ? (this.ended ? "Delete your comment" : "Edit or delete your comment")
          : `Report ${comment.username}'s comment`;
      menu.setAttribute("aria-label", label);
      menu.setAttribute("aria-haspopup", "dialog");
      menu.setAttribute("aria-expanded", "false");
      menu.dataset.moderate = comment.id;
      node.append(menu);
    }
    return node;
  }

  /**
   * Swap a comment's text for an inline editor: Enter saves, Escape cancels (app.js).
   * @param {HTMLLIElement} node
   * @param {{commentId: string, draft: string}} editing
   */
  editor(node, editing) {
    const input = document.createElement("input");
    input.className = "comment-editor";
    input.value = editing.draft;
    input.dir = "auto";
    input.autocomplete = "off";
    input.setAttribute("aria-label", "Edit your comment (Enter saves, Escape cancels)");
    input.dataset.editing = editing.commentId;
    input.addEventListener("input", () => {
      editing.draft = input.value;
    });
    // Buttons too: a phone's keyboard has Enter but no Escape, and a finger wants a target.
    const actions = element("span", "comment-editor-actions");
    const save = element("button", "comment-editor-save", "Save");
    save.setAttribute("type", "button");
    save.setAttribute("aria-label", "Save your edit");
    save.dataset.editSave = editing.commentId;
    const cancel = element("button", "comment-editor-cancel", "Cancel");
    cancel.setAttribute("type", "button");
    cancel.setAttribute("aria-label", "Cancel the edit");
    cancel.dataset.editCancel = editing.commentId;
    actions.append(save, cancel, element("span", "comment-editor-hint", "Enter saves · Escape cancels"));
    node.querySelector(".comment-content")?.replaceWith(input, actions);
    node.querySelector(".comment-edited")?.remove();
  }

  /**
   * Start (or, with null, stop) editing an own comment in place; focus goes to the editor.
   * @param {Comment | null} comment
   */
  setEditing(comment) {
    this.editing = comment ? { commentId: comment.id, draft: comment.content } : null;
  }

  /** @param {OptimisticComment} entry @param {LiveStore} store @param {number} now */
  optimisticNode(entry, store, now) {
    const author = element("span", "comment-author", this.options.username ?? "");
    const node = this.shell([author], entry.content, entry.parentId, store);
    node.classList.add("is-own", `is-${entry.status}`);
    const status = optimisticStatusText(entry, now);
    if (status) node.append(element("span", "comment-status", status));
    if (entry.status === "rejected" || entry.status === "failed") {
      const dismiss = element("button", "comment-dismiss", "Dismiss");
      dismiss.setAttribute("type", "button");
      dismiss.setAttribute("aria-label", "Dismiss this unsent comment");
      dismiss.dataset.dismiss = entry.idempotencyKey;
      node.append(dismiss);
    }
    return node;
  }

  /**
   * @param {(Node | string)[]} author the name, and a badge
   * @param {string} content
   * @param {string | null} parentId
   * @param {LiveStore} store
   */
  shell(author, content, parentId, store) {
    const node = /** @type {HTMLLIElement} */ (element("li", "comment"));
    if (parentId) {
      const parent = store.findComment(parentId);
      node.append(
        element(
          "div",
          "comment-parent",
          parent
            ? `↪ ${parent.username}: ${preview(parent.content, PARENT_PREVIEW_CHARS)}`
            : "↪ in reply to an earlier comment",
        ),
      );
    }
    node.append(...author, " ", contentNode(content, this.options.username));
    return node;
  }

  /** At the newest comment, or near enough (FOLLOW_THRESHOLD_PX). */
  isAtBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.list;
    return scrollHeight - scrollTop - clientHeight <= FOLLOW_THRESHOLD_PX;
  }

  /** The first comment in view and how far below the top edge it sits. */
  topVisible() {
    const top = this.list.scrollTop;
    for (const child of this.list.children) {
      const node = /** @type {HTMLElement} */ (child);
      if (node.offsetTop + node.offsetHeight > top) return { node, offset: node.offsetTop - top };
    }
    return null;
  }

  /** Back at the newest comment, if the reader was following it. */
  stayAtNewest() {
    if (this.following) this.list.scrollTop = this.list.scrollHeight;
  }

  scrollToNewest() {
    this.following = true;
    this.list.scrollTop = this.list.scrollHeight;
    this.setUnseen(0);
  }

  /** @param {number} count */
  setUnseen(count) {
    // Called every frame while following: touch the DOM only when the count changes.
    if (count === this.unseen && this.newCommentsButton.hidden === (count === 0)) return;
    this.unseen = count;
    this.newCommentsButton.hidden = count === 0;
    this.newCommentsButton.textContent = count === 1 ? "1 new comment ↓" : `${count} new comments ↓`;
  }

  // --- Banner, counters, status -----------------------------------------------------

  /**
   * The first pinned comment, and "N more pinned" to show the rest (as YouTube does).
   * @param {Comment[]} pinned newest first (the store's order)
   */
  renderPinned(pinned) {
    if (pinned.length < 2) this.pinnedExpanded = false;
    const signature = `${this.pinnedExpanded}|${pinned
      .map((comment) => `${comment.id}:${comment.authorRole}:${comment.editedAt}:${comment.content}`)
      .join("|")}`;
    if (this.pinned.dataset.signature === signature) return;
    this.pinned.dataset.signature = signature;
    const shown = this.pinnedExpanded ? pinned : pinned.slice(0, 1);
    /** @type {HTMLElement[]} */
    const banners = shown.map((comment) => {
      const banner = element("p", "pinned-comment");
      const text = contentNode(comment.content, this.options.username);
      banner.append(element("span", "pinned-label", "📌 Pinned"), " ", ...authorParts(comment), " ", text);
      if (this.options.moderates) {
        const unpin = element("button", "link-button pinned-unpin", "Unpin");
        unpin.setAttribute("type", "button");
        unpin.setAttribute("aria-label", `Unpin ${comment.username}'s comment`);
        unpin.dataset.unpin = comment.id;
        banner.append(" ", unpin);
      }
      return banner;
    });
    if (pinned.length > 1) {
      const more = pinned.length - 1;
      const toggle = element(
        "button", "link-button pinned-toggle", this.pinnedExpanded ? "Show fewer" : `${more} more pinned`,
      );
      toggle.setAttribute("type", "button");
      toggle.setAttribute("aria-expanded", String(this.pinnedExpanded));
      toggle.dataset.pinnedToggle = "";
      banners.push(toggle);
    }
    const hadFocus = this.pinned.contains(document.activeElement) && document.activeElement?.matches("[data-pinned-toggle]");
    this.pinned.replaceChildren(...banners);
    if (hadFocus) /** @type {HTMLElement | null} */ (this.pinned.querySelector("[data-pinned-toggle]"))?.focus();
    this.pinned.hidden = pinned.length === 0;
  }

  /**
   * @param {number} count
   * @param {boolean} ended nobody is watching live any more: the count goes
   */
  renderViewerCount(count, ended = false) {
    this.viewerCount.hidden = ended;
    const text = count === 1 ? "1 watching" : `${COUNT.format(count)} watching`;
    if (this.viewerCount.textContent !== text) this.viewerCount.textContent = text;
  }

  /** @param {boolean} ended the LIVE badge becomes "Ended" */
  renderBadge(ended) {
    if (!this.badge || this.badge.classList.contains("ended-badge") === ended) return;
    this.badge.className = ended ? "ended-badge" : "live-badge";
    this.badge.textContent = ended ? "Ended" : "Live";
  }

  /** @param {string} text */
  renderConnection(text) {
    if (this.connection.textContent !== text) this.connection.textContent = text;
  }

  // --- Screen reader summaries ------------------------------------------------------

  /** @param {Comment[]} comments live comments that just arrived */
  queueAnnouncement(comments) {
    this.toAnnounce.push(...comments);
  }

  /**
   * Say what arrived since the last summary, at most once per ANNOUNCE_INTERVAL_MS, so a
   * busy stream does not flood a screen reader.
   * @param {number} now
   */
  announceIfDue(now) {
    if (!this.toAnnounce.length || now - this.lastAnnouncedAt < ANNOUNCE_INTERVAL_MS) return;
    const [first] = this.toAnnounce;
    this.announcer.textContent =
      this.toAnnounce.length === 1
        ? `${first.username} says: ${preview(first.content, 140)}`
        : `${this.toAnnounce.length} new comments`;
    this.toAnnounce = [];
    this.lastAnnouncedAt = now;
  }

  // --- Reactions --------------------------------------------------------------------

  /**
   * The stream's reactions so far, beside each button ("" until there is one).
   * @param {HTMLElement} reactions the buttons' group
   * @param {LiveStore['reactionTotals']} totals
   */
  renderReactionCounts(reactions, totals) {
    for (const button of reactions.querySelectorAll("[data-reaction]")) {
      const count = totals[/** @type {ReactionType} */ (/** @type {HTMLElement} */ (button).dataset.reaction)] ?? 0;
      const node = button.querySelector("[data-reaction-count]");
      const text = count ? compactCount(count) : "";
      if (node && node.textContent !== text) node.textContent = text;
    }
  }

  /** @param {ReactionsBatch['counts']} counts */
  burst(counts) {
    if (this.options.reducedMotion) return;
    for (const [type, count] of Object.entries(counts)) {
      const emoji = REACTION_EMOJI[/** @type {ReactionType} */ (type)];
      if (!emoji || !count) continue;
      for (let i = 0; i < Math.min(count, BURSTS_PER_TYPE_PER_BATCH); i++) {
        if (this.bursts.childElementCount >= MAX_BURSTS) return;
        const bubble = element("span", "burst", emoji);
        // Spread the bubbles so a batch reads as a burst, not a single sprite.
        // Mostly leftwards: the panel clips anything past its right edge.
        bubble.style.setProperty("--burst-x", `${Math.round(Math.random() * 70 - 55)}px`);
        bubble.style.animationDelay = `${i * 90}ms`;
        bubble.addEventListener("animationend", () => bubble.remove(), { once: true });
        this.bursts.append(bubble);
      }
    }
  }
}

/** @param {Comment} comment @param {LiveStore} store */
function commentSignature(comment, store) {
  const parentKnown = comment.parentId ? store.findComment(comment.parentId) !== null : false;
  return [
    comment.isHighlighted, comment.isPinned, parentKnown, store.reportStatus(comment.id),
    comment.editedAt, store.editHeld(comment.id), comment.content,
  ].join("|");
}

/** @param {number | string} when ms, or an ISO date: the date and time in full, for a tooltip */
export function fullDate(when) {
  return FULL_DATE.format(new Date(when));
}

/** @param {OptimisticComment} entry @param {number} now */
function optimisticSignature(entry, now) {
  return `${entry.status}|${optimisticStatusText(entry, now)}`;
}

/** @param {OptimisticComment} entry @param {number} now */
export function optimisticStatusText(entry, now) {
  switch (entry.status) {
    case "sending":
      return "Sending…";
    case "retrying":
      return `Retry in ${Math.max(1, Math.ceil(((entry.retryAt ?? now) - now) / 1000))}s…`;
    case "sent":
      return "";
    case "held":
      return "Held for review: only you see it until a moderator approves it.";
    case "denied":
      return "Not approved by a moderator.";
    case "rejected":
      return `Not posted: ${REASONS[entry.code ?? "INVALID_MESSAGE"]}`;
    case "failed":
      return "Not sent: the connection did not come back in time.";
  }
}

/**
 * The popup of a comment's ⋮ button: for moderators and the host an optional reason and
 * one button per moderation; for a signed-in viewer one button per reason to report it. Non-modal: Escape, a choice or a click elsewhere closes it, and
 * focus goes back to the ⋮ button it came from.
 */
export class ModerationMenu {
  /**
   * @param {HTMLElement} root the panel, with streams/detail.html's data-moderation-menu
   * @param {(choice: ModerationChoice, comment: Comment, reason: string) => void} onChoose
   */
  constructor(root, onChoose) {
    this.root = root;
    this.onChoose = onChoose;
    this.menu = part(root, "[data-moderation-menu]", HTMLElement);
    this.target = part(this.menu, "[data-menu-target]", HTMLElement);
    this.reason = part(this.menu, "[data-menu-reason]", HTMLInputElement);
    this.reasonField = /** @type {HTMLElement} */ (this.reason.closest("label") ?? this.reason);
    this.actions = part(this.menu, "[data-menu-actions]", HTMLElement);
    /** @type {{comment: Comment, choices: ModerationChoice[], button: HTMLElement} | null} */
    this.current = null;

    this.actions.addEventListener("click", (event) => {
      const button = /** @type {HTMLElement} */ (event.target).closest("[data-choice]");
      if (!(button instanceof HTMLElement) || !this.current) return;
      const { comment, choices } = this.current;
      const choice = choices[Number(button.dataset.choice)];
      if (choice.confirm && button.dataset.confirmed === undefined) {
        this.askToConfirm(choice, Number(button.dataset.choice));
        return;
      }
      const reason = this.reason.value;
      this.close();
      this.onChoose(choice, comment, reason);
    });
    this.menu.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && event.target !== this.reason) {
        event.preventDefault();
        this.moveFocus(event.key === "ArrowDown" ? 1 : -1);
      }
    });
    // Leaving it, by Tab or by a click or touch elsewhere, closes it (focus stays there).
    this.menu.addEventListener("focusout", (event) => {
      const next = /** @type {Node | null} */ (event.relatedTarget);
      if (this.current && next && !this.menu.contains(next) && next !== this.current.button) this.close(false);
    });
    document.addEventListener("pointerdown", (event) => {
      const target = /** @type {Node} */ (event.target);
      if (this.current && !this.menu.contains(target) && !this.current.button.contains(target)) this.close(false);
    });
  }

  get isOpen() {
    return this.current !== null;
  }

  /**
   * Open under (or above) the ⋮ button, focused on its first choice; a second press closes it.
   * @param {HTMLElement} button
   * @param {Comment} comment
   * @param {ModerationChoice[]} choices
   */
  toggle(button, comment, choices) {
    const wasFor = this.current?.comment.id;
    if (this.current) this.close(false);
    if (wasFor === comment.id) {
      button.focus();
      return;
    }
    this.current = { comment, choices, button };
    button.setAttribute("aria-expanded", "true");
    const moderating = choices.some((choice) => choice.group !== "report" && choice.group !== "own");
    const ownOnly = choices.every((choice) => choice.group === "own");
    this.menu.setAttribute(
      "aria-label",
      // Named as its ⋮ is; not "Your comment", the composer's label.
      ownOnly ? "Edit or delete your comment" : `${moderating ? "Moderate" : "Report"} ${comment.username}'s comment`,
    );
    // The reason box goes with a moderation; a report's reason is the button chosen.
    this.reasonField.hidden = !moderating;
    this.target.textContent = `${comment.username}: ${preview(comment.content, PARENT_PREVIEW_CHARS)}`;
    this.target.dir = "auto";
    this.reason.value = "";
    this.actions.replaceChildren(...menuRows(comment, choices));
    this.menu.hidden = false;
    this.place(button);
    /** @type {HTMLElement | null} */ (this.actions.querySelector("button"))?.focus();
  }

  /**
   * The confirm step of a choice that cannot be undone (a delete): its question, the
   * choice again to confirm, and Cancel; focus on Cancel, the safe answer.
   * @param {ModerationChoice} choice
   * @param {number} index
   */
  askToConfirm(choice, index) {
    const row = element("div", "moderation-menu-row is-confirm");
    row.append(element("span", "moderation-menu-label", choice.confirm));
    const yes = element("button", `moderation-choice is-${choice.action}`, choice.label);
    yes.setAttribute("type", "button");
    yes.setAttribute("aria-label", `Yes, ${choice.name.charAt(0).toLowerCase()}${choice.name.slice(1)}`);
    yes.dataset.choice = String(index);
    yes.dataset.confirmed = "";
    const no = element("button", "moderation-choice", "Cancel");
    no.setAttribute("type", "button");
    no.addEventListener("click", () => this.close());
    row.append(yes, no);
    this.actions.replaceChildren(row);
    no.focus();
  }

  /** @param {boolean} [returnFocus] false when the user has moved on elsewhere */
  close(returnFocus = true) {
    if (!this.current) return;
    const { button, comment } = this.current;
    this.current = null;
    this.menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (!returnFocus) return;
    // The comment may have been drawn again meanwhile: its new ⋮ button, or the list.
    const again = button.isConnected ? button : this.root.querySelector(`[data-moderate="${CSS.escape(comment.id)}"]`);
    if (again instanceof HTMLElement) again.focus();
    else /** @type {HTMLElement | null} */ (this.root.querySelector("[data-comment-list]"))?.focus();
  }

  /** @param {HTMLElement} button */
  place(button) {
    const box = /** @type {HTMLElement} */ (this.menu.offsetParent ?? this.root).getBoundingClientRect();
    const anchor = button.getBoundingClientRect();
    const height = this.menu.offsetHeight;
    let top = anchor.bottom - box.top + 4;
    if (top + height > box.height) top = anchor.top - box.top - height - 4;
    this.menu.style.top = `${Math.max(0, Math.min(top, box.height - height))}px`;
  }

  /** @param {number} step */
  moveFocus(step) {
    const buttons = [...this.menu.querySelectorAll("button")];
    const index = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    buttons[(index + step + buttons.length) % buttons.length]?.focus();
  }
}

/**
 * The menu's rows: what to do to the comment, then to its author (timeouts, ban).
 * @param {Comment} comment
 * @param {ModerationChoice[]} choices
 */
function menuRows(comment, choices) {
  /** @type {Map<string, HTMLElement>} */
  const rows = new Map();
  choices.forEach((choice, index) => {
    let row = rows.get(choice.group);
    if (!row) {
      row = element("div", `moderation-menu-row is-${choice.group}`);
      if (choice.group === "timeout") row.append(element("span", "moderation-menu-label", `Time out ${comment.username}:`));
      if (choice.group === "report") row.append(element("span", "moderation-menu-label", "Report this comment for:"));
      rows.set(choice.group, row);
    }
    const button = element("button", `moderation-choice is-${choice.action}`, choice.label);
    button.setAttribute("type", "button");
    button.setAttribute("aria-label", choice.name);
    button.dataset.choice = String(index);
    row.append(button);
  });
  return [...rows.values()];
}
