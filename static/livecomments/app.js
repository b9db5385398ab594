// @ts-check
/**
 * The stream page's entry point: wires the socket, the store and the view together.
 * streams/detail.html provides the markup and, as JSON, the stream id, the viewer and
 * the socket path.
 */

import { LatencyMonitor, REPORT_INTERVAL_MS } from "./latency.js";
import { PageClient, newIdempotencyKey, oncePerFrame, readConfig } from "./page-client.js";
import { REASONS } from "./protocol.js";
import {
  LiveStore, PendingStorage, charactersLeft, choicesAfterTheEnd, moderationChoices, ownChoices, reportChoices,
} from "./store.js";
import { startReplay } from "./replay.js";
import { FOLLOWING_ROWS, ModerationMenu, StreamView } from "./view.js";

/**
 * @typedef {import('./protocol').ServerFrame} ServerFrame
 * @typedef {import('./protocol').CommentOut} Comment
 * @typedef {import('./protocol').ReactPayload} ReactPayload
 * @typedef {{streamId: string, socketPath: string, user: {id: string, username: string, moderates: boolean} | null, replay?: import('./replay.js').ReplayConfig | null}} PageConfig
 */

/** What the composer and the reactions say once the stream is over. */
const ENDED_TEXT = "This stream has ended.";

// Countdowns ("Retry in 3s…", "Wait 4s") move at this pace; retries fire on it too.
const TICK_MS = 250;

function start() {
  const config = /** @type {PageConfig} */ (readConfig("live-config"));
  const root = document.querySelector("[data-live-comments]");
  if (!(root instanceof HTMLElement)) return;
  const user = config.user;
  const store = new LiveStore(config.streamId);
  const pendingStorage = user ? new PendingStorage(localStorage, config.streamId, user.id) : null;
  if (pendingStorage) store.restorePending(pendingStorage.load());
  const latency = new LatencyMonitor(console);
  // The host and moderators join to moderate: the whole feed, unsampled, and a ⋮ menu.
  let moderating = Boolean(user?.moderates);
  const view = new StreamView(root, {
    username: user?.username ?? null,
    userId: user?.id ?? null,
    moderates: moderating,
    reducedMotion: matchMedia("(prefers-reduced-motion: reduce)").matches,
    followingRows: FOLLOWING_ROWS,
  });
  // An ended stream's page replays its chat (replay.js), and so does a live one while its
  // viewer is behind live (DVR): the list and the pins are then the replay's.
  const replayRoot = document.querySelector("[data-replay]");
  const replay = config.replay && replayRoot instanceof HTMLElement
    ? startReplay(config.replay, replayRoot, view, store, () => render()) : null;
  const shown = () => (replay?.showing() ? replay.store : store);
  /** Over: told by the server, or known from the page (an ended stream's replay). */
  const ended = () => store.status === "ended" || Boolean(config.replay && !config.replay.live);
  view.onPinnedToggle = () => view.renderPinned(shown().pinned);
  const form = root.querySelector("[data-composer]");
  const input = /** @type {HTMLInputElement} */ (root.querySelector("#comment-input"));
  const sendButton = /** @type {HTMLButtonElement | null} */ (form?.querySelector("button[type=submit]") ?? null);
  const composerStatus = /** @type {HTMLElement | null} */ (root.querySelector("[data-composer-status]"));
  const charCount = /** @type {HTMLElement | null} */ (root.querySelector("[data-char-count]"));
  const replying = /** @type {HTMLElement | null} */ (root.querySelector("[data-replying]"));
  const reactions = /** @type {HTMLElement | null} */ (root.querySelector("[data-reactions]"));
  const modes = /** @type {HTMLElement | null} */ (root.querySelector("[data-chat-modes]"));
  const restriction = /** @type {HTMLElement | null} */ (root.querySelector("[data-restriction]"));
  const moderationStatus = /** @type {HTMLElement | null} */ (root.querySelector("[data-moderation-status]"));
  // The ⋮ menu: a moderator's actions, or a viewer's report of someone else's comment.
  const menu = user ? new ModerationMenu(root, choose) : null;

  /** Why posting is impossible right now (no such stream, ended), beyond the cooldown and a ban. */
  let postingBlockedBy = "";
  /** @type {string | null} */
  let replyTo = null;
  /** @type {Comment[]} live comments waiting to be drawn, for the latency figures */
  let awaitingDisplay = [];

  // The socket, the join and the frames every live page handles alike (page-client.js);
  // what follows is this page's own part of each frame.
  const client = new PageClient({
    store,
    streamId: config.streamId,
    socketPath: config.socketPath,
    moderating: () => moderating,
    onFrame: handleFrame,
    onDisconnect: update,
  });
  const connection = client.connection;

  /**
   * This page's part of a frame, after the store has taken it (PageClient.handle).
   * @param {ServerFrame} frame
   * @param {Comment[]} added what a comments_batch added to the store
   * @param {number} now
   */
  function handleFrame(frame, added, now) {
    switch (frame.type) {
      case "stream_state":
        sendDue(now);
        for (const payload of store.unansweredModerations()) connection.send({ type: "moderate", payload });
        for (const payload of store.unansweredReports()) connection.send({ type: "report", payload });
        for (const request of store.unansweredOwnRequests()) sendOwnRequest(request);
        break;
      case "comments_batch":
        // Backfill is history, not delivery: only live comments measure latency. A hidden
        // tab draws nothing until it is shown again, which is not the system's delay.
        // Behind live (DVR), live comments are kept but neither drawn nor announced.
        if (!frame.payload.isBackfill && shown() === store) {
          if (document.visibilityState === "visible") awaitingDisplay.push(...added);
          view.queueAnnouncement(added.filter((comment) => comment.userId !== user?.id));
        }
        break;
      case "reactions_batch":
        store.applyReactions(frame.payload.counts);
        view.burst(frame.payload.counts);
        break;
      case "ack": {
        const answered = store.applyModerationAck(frame.payload)
          ?? store.applyReportAck(frame.payload)
          ?? store.applyOwnAck(frame.payload);
        if (answered !== null) showModerationStatus(answered);
        else store.applyAck(frame.payload, now);
        break;
      }
      case "error":
        handleError(frame.payload);
        break;
      case "stream_ended":
        postingBlockedBy = ENDED_TEXT;
        break;
      case "restriction_changed":
        store.applyRestriction(frame.payload.restriction);
        break;
      case "comment_reviewed":
        store.applyReviewed(frame.payload);
        break;
      // Moderation after the end (a hide a day later) applies to the replay at once.
      case "comments_removed":
        replay?.removed(frame.payload.commentIds);
        break;
      case "comment_updated":
        replay?.updated(frame.payload.comment);
        break;
    }
    update();
  }

  /** @param {import('./protocol').ErrorPayload} error */
  function handleError(error) {
    if (error.code === "FORBIDDEN" && moderating && !client.joined) {
      // No longer a moderator since the page was drawn: read the chat as a viewer.
      moderating = false;
      showModerationStatus(`${error.message} The chat is shown as to a viewer.`);
      connection.rejoin();
      return;
    }
    if (error.code === "UNAVAILABLE") connection.joinRefused();
    if (error.code === "STREAM_NOT_FOUND") {
      postingBlockedBy = REASONS[error.code];
    } else if (error.code === "INVALID_MESSAGE") {
      // The client and the server disagree about the protocol: a bug to fix, not a user error.
      console.error("live comments: the server refused a frame:", error.message);
    }
    if (composerStatus) composerStatus.textContent = error.message || REASONS[error.code];
  }

  /** @param {number} now */
  function sendDue(now) {
    if (!client.joined) return;
    for (const entry of store.dueForSending(now)) {
      connection.send({
        type: "post_comment",
        payload: {
          streamId: config.streamId,
          content: entry.content,
          idempotencyKey: entry.idempotencyKey,
          parentId: entry.parentId,
        },
      });
    }
  }

  const drawSoon = oncePerFrame(render);
  function update() {
    pendingStorage?.save(store.pendingForStorage());
    drawSoon();
  }

  function render() {
    const now = Date.now();
    // Taken either way: the count is of live comments, which a replay does not show.
    const arrived = client.takeArrived();
    const list = shown();
    view.ended = ended();
    view.renderComments(list, list === store ? arrived : 0, now);
    for (const comment of awaitingDisplay) latency.record(comment, now);
    awaitingDisplay = [];
    view.renderPinned(list.pinned);
    view.renderViewerCount(store.viewerCount, store.status === "ended");
    view.renderBadge(store.status === "ended");
    if (reactions) view.renderReactionCounts(reactions, store.reactionTotals);
    view.renderConnection(connectionText(now));
    renderModes();
    renderComposer(now);
  }

  /** @param {number} now */
  function connectionText(now) {
    if (store.status === "ended") return "Stream ended";
    if (client.joined) return "Live";
    if (store.status === "reconnecting") {
      const seconds = Math.ceil((client.reconnectAt - now) / 1000);
      return seconds > 0 ? `Reconnecting in ${seconds}s…` : "Reconnecting…";
    }
    return "Connecting…";
  }

  /** @param {number} now */
  function renderComposer(now) {
    const ended = store.status === "ended" ? ENDED_TEXT : "";
    const restricted = store.restrictionText(now);
    renderReactions(ended || (user ? restricted : "Log in to react."));
    if (input && !sendButton && ended) input.placeholder = ended;
    if (!input || !sendButton) return;
    const cooldown = store.cooldownSeconds(now);
    const lockedOut = store.settings?.locked && !user?.moderates ? REASONS.RESTRICTED : "";
    const blocked = ended || postingBlockedBy || restricted || lockedOut;
    const { left, tooLong } = charactersLeft(input.value);
    // A cooldown only stops sending: the viewer keeps typing the next comment.
    input.disabled = Boolean(blocked);
    sendButton.disabled = Boolean(blocked || tooLong) || cooldown > 0;
    const sendTitle = blocked || tooLong || (cooldown > 0 ? `You can post again in ${cooldown} s` : "");
    if (sendButton.title !== sendTitle) sendButton.title = sendTitle;
    renderCounter(left, tooLong, Boolean(blocked));
    if (restriction && restriction.textContent !== restricted) {
      // Said once when it lands or ends; the 250 ms tick notices a timeout running out.
      restriction.textContent = restricted;
      restriction.hidden = !restricted;
    }
    const placeholder = blocked || (cooldown > 0 ? `Wait ${cooldown}s…` : "Say something…");
    if (input.placeholder !== placeholder) input.placeholder = placeholder;
    if (!composerStatus) return;
    if (cooldown > 0) {
      const text = `${REASONS.RATE_LIMITED} You can post again in ${cooldown} s.`;
      if (!composerStatus.dataset.cooldown) {
        // Announced once when it starts; the countdown then moves on screen only.
        composerStatus.dataset.cooldown = "on";
        composerStatus.textContent = text;
        requestAnimationFrame(() => composerStatus.setAttribute("aria-live", "off"));
      } else if (composerStatus.textContent !== text) composerStatus.textContent = text;
    } else if (composerStatus.dataset.cooldown) {
      delete composerStatus.dataset.cooldown;
      composerStatus.removeAttribute("aria-live");
      composerStatus.textContent = "";
      if (document.activeElement === document.body) input.focus();
    }
  }

  /**
   * The characters left, red and with the reason once over the limit (no silent cut).
   * @param {number} left
   * @param {string} tooLong
   * @param {boolean} blocked nothing can be posted anyway
   */
  function renderCounter(left, tooLong, blocked) {
    if (!charCount) return;
    const text = blocked ? "" : String(left);
    if (charCount.textContent !== text) charCount.textContent = text;
    charCount.classList.toggle("is-over", Boolean(tooLong));
    charCount.title = tooLong || `${left} characters left`;
    charCount.hidden = blocked;
  }

  function renderModes() {
    if (!modes) return;
    const text = store.status === "ended" ? "" : store.modesText();
    if (modes.textContent !== text) modes.textContent = text;
    modes.hidden = !text;
  }

  /**
   * Say on the reactions why they are off: the stream ended, a ban or timeout (whose
   * reactions the server drops), or no account. The anonymous viewer's note is the login link.
   * @param {string} why "" when the viewer may react
   */
  function renderReactions(why) {
    if (!reactions || (reactions.dataset.disabledBy ?? "") === why) return;
    reactions.dataset.disabledBy = why;
    for (const button of reactions.querySelectorAll("button")) {
      button.disabled = Boolean(why);
      button.title = why || (button.dataset.label ?? "");
    }
    const login = reactions.querySelector("[data-reactions-login]");
    const note = /** @type {HTMLElement | null} */ (reactions.querySelector("[data-reactions-note]"));
    const showNote = Boolean(why) && !(login && store.status !== "ended");
    if (login instanceof HTMLElement) login.hidden = showNote;
    if (note) {
      note.textContent = showNote ? why : "";
      note.hidden = !showNote;
    }
  }

  /**
   * The choices of a comment's ⋮ menu for this user.
   * @param {Comment} comment
   */
  function menuChoices(comment) {
    const moderation = moderating ? moderationChoices(comment, user?.id ?? null) : [];
    const choices = [
      ...ownChoices(comment, user?.id ?? null, Date.now()),
      ...moderation,
      ...reportChoices(comment, user && { id: user.id, moderates: moderating }, store),
    ];
    return ended() ? choicesAfterTheEnd(choices) : choices;
  }

  /** @param {import('./store.js').OwnRequest} request */
  function sendOwnRequest(request) {
    if (request.kind === "edit") connection.send({ type: "edit_comment", payload: request.payload });
    else connection.send({ type: "delete_comment", payload: request.payload });
  }

  /**
   * Open (or, with null, close) the inline editor of an own comment, drawn at once so it
   * can take the focus; closing gives the focus back to the comment's ⋮.
   * @param {Comment | null} comment
   */
  function editInPlace(comment) {
    const was = view.editing?.commentId;
    view.setEditing(comment);
    render();
    if (comment) {
      const editor = /** @type {HTMLInputElement | null} */ (view.list.querySelector("[data-editing]"));
      editor?.focus();
      editor?.setSelectionRange(editor.value.length, editor.value.length);
    } else if (was) {
      /** @type {HTMLElement | null} */ (view.list.querySelector(`[data-moderate="${CSS.escape(was)}"]`))?.focus();
    }
  }

  /** @param {HTMLInputElement} editor the inline editor, on Enter or its Save */
  function saveEdit(editor) {
    const comment = store.findComment(editor.dataset.editing ?? "");
    if (!comment) return editInPlace(null);
    if (editor.value.trim() === comment.content) return editInPlace(null);
    const result = store.edit(comment, editor.value, { idempotencyKey: newIdempotencyKey() });
    if (!result.ok) {
      showModerationStatus(result.reason);
      return;
    }
    if (client.joined) connection.send({ type: "edit_comment", payload: result.payload });
    showModerationStatus(client.joined ? "Saving your edit…" : "Saving your edit… (waiting for the connection)");
    editInPlace(null);
  }

  /** @param {Comment} comment confirmed in the menu */
  function deleteOwn(comment) {
    const payload = store.deleteComment(comment, { idempotencyKey: newIdempotencyKey() });
    if (client.joined) connection.send({ type: "delete_comment", payload });
    showModerationStatus(client.joined ? "Deleting your comment…" : "Deleting your comment… (waiting for the connection)");
  }

  /**
   * A choice from a comment's ⋮ menu.
   * @param {import('./store.js').ModerationChoice} choice
   * @param {Comment} comment
   * @param {string} reason a moderator's reason, for the log
   */
  function choose(choice, comment, reason) {
    if (choice.action === "report" && choice.reason) report(comment, choice.reason);
    else if (choice.action === "edit") editInPlace(comment);
    else if (choice.action === "delete") deleteOwn(comment);
    else moderate(choice, comment, reason);
  }

  /**
   * A viewer's report: sent with a fresh key, the comment marked "Reporting…" until its ack.
   * @param {Comment} comment
   * @param {import('./store.js').ReportReason} reason
   */
  function report(comment, reason) {
    const { payload, text } = store.report(comment, reason, { idempotencyKey: newIdempotencyKey() });
    if (client.joined) connection.send({ type: "report", payload });
    showModerationStatus(client.joined ? text : `${text} (waiting for the connection)`);
    update();
  }

  /**
   * A choice from a comment's ⋮ menu: sent as `moderate` with a fresh key; its ack says how it went.
   * @param {import('./store.js').ModerationChoice} choice
   * @param {Comment} comment
   * @param {string} reason
   */
  function moderate(choice, comment, reason) {
    const { payload, text } = store.moderate(choice, comment, { idempotencyKey: newIdempotencyKey(), reason });
    // Not joined yet: it goes with the others once the socket has joined again.
    if (client.joined) connection.send({ type: "moderate", payload });
    showModerationStatus(client.joined ? text : `${text} (waiting for the connection)`);
  }

  /** @param {string} text */
  function showModerationStatus(text) {
    if (!moderationStatus) return;
    moderationStatus.textContent = text;
    moderationStatus.hidden = !text;
  }

  /** @param {string | null} commentId */
  function setReplyTo(commentId) {
    replyTo = commentId;
    if (!replying) return;
    const parent = commentId ? store.findComment(commentId) : null;
    replying.hidden = parent === null;
    const text = replying.querySelector("[data-replying-text]");
    if (text) text.textContent = parent ? `Replying to ${parent.username}` : "";
    if (parent) input?.focus();
  }

  form?.addEventListener("submit", (event) => {
    event.preventDefault();
    const now = Date.now();
    if (sendButton?.disabled) return;
    const result = store.compose({
      content: input.value, parentId: replyTo, idempotencyKey: newIdempotencyKey(), now,
    });
    if (!result.ok) {
      if (composerStatus) {
        composerStatus.textContent = result.reason;
        composerStatus.dataset.error = "on";
      }
      return;
    }
    input.value = "";
    if (composerStatus) composerStatus.textContent = "";
    setReplyTo(null);
    sendDue(now);
    view.scrollToNewest();
    // Drawn now, not on the next frame: "Sending…" must show before any ack can be handled.
    pendingStorage?.save(store.pendingForStorage());
    render();
  });
  replying?.querySelector("[data-cancel-reply]")?.addEventListener("click", () => setReplyTo(null));
  input?.addEventListener("input", () => {
    // A refusal's text goes once the draft is fine again; an over-long one says why.
    const { tooLong } = charactersLeft(input.value);
    if (composerStatus?.dataset.error && input.value.trim() && !tooLong) {
      delete composerStatus.dataset.error;
      composerStatus.textContent = "";
    }
    if (tooLong && composerStatus && !composerStatus.dataset.cooldown && composerStatus.textContent !== tooLong) {
      composerStatus.textContent = tooLong;
      composerStatus.dataset.error = "on";
    }
    if (sendButton) renderComposer(Date.now());
  });
  input?.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && replyTo !== null) {
      event.preventDefault();
      setReplyTo(null);
    }
  });

  view.list.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (target.dataset.replyTo) setReplyTo(target.dataset.replyTo);
    const moderated = target.dataset.moderate ? shown().findComment(target.dataset.moderate) : null;
    if (menu && moderated) {
      const choices = menuChoices(moderated);
      if (choices.length) menu.toggle(target, moderated, choices);
    }
    if (target.dataset.dismiss) {
      store.dismiss(target.dataset.dismiss);
      update();
    }
    if (target.dataset.editSave) {
      const editor = view.list.querySelector(`[data-editing="${CSS.escape(target.dataset.editSave)}"]`);
      if (editor instanceof HTMLInputElement) saveEdit(editor);
    }
    if (target.dataset.editCancel) editInPlace(null);
  });
  // One tab stop for the whole list: arrows move between comments, Enter replies.
  view.list.addEventListener("keydown", (event) => {
    const editor = event.target;
    if (editor instanceof HTMLInputElement && editor.dataset.editing) {
      if (event.key === "Enter") {
        event.preventDefault();
        saveEdit(editor);
      } else if (event.key === "Escape") {
        event.preventDefault();
        editInPlace(null);
      }
      return;
    }
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    const buttons = [...view.list.querySelectorAll("button")];
    if (!buttons.length) return;
    const current = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    const next = current === -1
      ? buttons.length - 1
      : Math.min(buttons.length - 1, Math.max(0, current + (event.key === "ArrowUp" ? -1 : 1)));
    event.preventDefault();
    buttons[next].focus();
  });

  view.pinned.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const pinned = target.dataset.unpin ? store.findComment(target.dataset.unpin) : null;
    const unpin = pinned && moderationChoices(pinned, user?.id ?? null).find((choice) => choice.action === "unpin");
    if (pinned && unpin) moderate(unpin, pinned, "");
  });

  reactions?.addEventListener("click", (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest("[data-reaction]");
    if (!(button instanceof HTMLElement) || !client.joined || !user) return;
    const reactionType = /** @type {ReactPayload['reactionType']} */ (button.dataset.reaction);
    connection.send({ type: "react", payload: { streamId: config.streamId, reactionType } });
    // Shown at once; the server's batch later adds everyone's, as a live stream does.
    view.burst({ [reactionType]: 1 });
  });

  setInterval(() => {
    const now = Date.now();
    sendDue(now);
    view.announceIfDue(now);
    update();
  }, TICK_MS);
  setInterval(() => {
    const samples = latency.drain();
    if (client.joined && samples.length) connection.send({ type: "report_latency", payload: { samples } });
  }, REPORT_INTERVAL_MS);

  addEventListener("online", () => connection.reconnectNow());
  addEventListener("pagehide", () => connection.stop());
  addEventListener("pageshow", (event) => {
    if (event.persisted) connection.start();
  });
  connection.start();
  update();
}

start();
