// @ts-check
/**
 * The replay of an ended stream's chat, in step with its video (or, with none, with a
 * clock of its own): the chat at each moment, and the player's controls under the video,
 * where the heat strip of the moments sits on the timeline, each bar above the stretch of
 * the timeline it counts (clicking one seeks there). It draws through the live page's
 * StreamView and a LiveStore of its own, so a replayed comment looks exactly like a live
 * one; app.js hands it the comment list and the pins, and the moderation that reaches the
 * page (a hide a day after the end) applies to it at once.
 *
 * On a live stream whose video can seek back (DVR), the same replay shows while the viewer
 * is behind live (LiveEdge in replay-store.js), with a "Back to live" button; at live,
 * app.js draws its own live list, which kept taking comments all along.
 */

import { LiveStore } from "./store.js";
import { element } from "./view.js";
import {
  BEHIND_LIVE_MS, LiveEdge, ReplayClock, ReplayTimeline, STORE_LAG_MS, WINDOW_MS, barHeights, behindText,
  clampRate, clockText,
} from "./replay-store.js";

/**
 * @typedef {import('./view.js').StreamView} StreamView
 * @typedef {import('./replay-store.js').ReplayPage} ReplayPage
 * @typedef {import('./replay-store.js').Moments} Moments
 * @typedef {{startedAtMs: number, serverNowMs: number}} LiveConfig
 * @typedef {{replayUrl: string, momentsUrl: string, durationMs: number, live?: LiveConfig | null}} ReplayConfig
 * @typedef {object} Replay
 * @property {LiveStore} store what the comment list and the pins are drawn from while showing
 * @property {() => boolean} showing
 * @property {(commentIds: string[]) => void} removed comments hidden or deleted since they loaded
 * @property {(comment: import('./protocol').CommentOut) => void} updated a comment changed since it loaded
 */

/** Besides every animation frame (which a hidden tab does not get), the chat follows at this pace. */
const TICK_MS = 250;
/** A window that failed to load is asked for again after this long. */
const RETRY_MS = 2000;
/** A jump bigger than this is a seek, not playing on: its reactions do not burst. */
const BURST_GAP_MS = 1500;
const RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];

/** The controls' icons (24 by 24), drawn rather than typed, so that no font changes them. */
const ICONS = {
  play: "M8 5v14l11-7z",
  pause: "M6 5h4v14H6zm8 0h4v14h-4z",
  sound: "M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 7.97v8.05A4.47 4.47 0 0 0 16.5 12zM14 3.23v2.06a7 7 0 0 1 0 13.42v2.06a9 9 0 0 0 0-17.54z",
  muted: "M3 9v6h4l5 5V4L7 9H3zm13.6 3 2.7-2.7-1.4-1.4-2.7 2.7-2.7-2.7-1.4 1.4 2.7 2.7-2.7 2.7 1.4 1.4 2.7-2.7 2.7 2.7 1.4-1.4z",
  fullScreen: "M7 14H5v5h5v-2H7v-3zm-2-4h2V7h3V5H5v5zm12 7h-3v2h5v-5h-2v3zM14 5v2h3v3h2V5h-5z",
  exitFullScreen: "M5 16h3v3h2v-5H5v2zm3-8H5v2h5V5H8v3zm6 11h2v-3h3v-2h-5v5zm2-11V5h-2v5h5V8h-3z",
};

/** Change a text only when it differs: a status is announced on every change. @param {HTMLElement} node @param {string} text */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * An icon button of the player: its name (what a screen reader says) and its icon change
 * together. @param {string} className
 */
function iconButton(className) {
  const button = element("button", `replay-button ${className}`);
  button.type = "button";
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.append(document.createElementNS("http://www.w3.org/2000/svg", "path"));
  button.append(svg);
  return button;
}

/** @param {HTMLButtonElement} button @param {keyof ICONS} icon @param {string} name */
function showAs(button, icon, name) {
  if (button.getAttribute("aria-label") === name) return;
  button.setAttribute("aria-label", name);
  button.title = name;
  button.querySelector("path")?.setAttribute("d", ICONS[icon]);
}

/** @param {string} url */
async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/**
 * The live edge of a video that has one (its seekable range's end while its duration is
 * infinite), else null. @param {HTMLVideoElement} video
 */
function liveEdgeMs(video) {
  const ranges = video.seekable;
  if (Number.isFinite(video.duration) || !ranges.length) return null;
  return ranges.end(ranges.length - 1) * 1000;
}

/** How far back a video can seek, in ms. @param {HTMLVideoElement} video */
function seekableMs(video) {
  const ranges = video.seekable;
  return ranges.length ? (ranges.end(ranges.length - 1) - ranges.start(0)) * 1000 : 0;
}

/**
 * Start the replay on `container` (the player's [data-replay], under the video). Returns
 * the store the comment list and the pinned banner are drawn from while `showing()`
 * (always, for an ended stream; while behind live, for a live one); `onShowingChange` is
 * called when a live stream's viewer falls behind live or comes back.
 * @param {ReplayConfig} config @param {HTMLElement} container @param {StreamView} view
 * @param {LiveStore} live the page's live store, whose viewer's reports the replay marks too
 * @param {() => void} onShowingChange
 * @returns {Replay}
 */
export function startReplay(config, container, view, live, onShowingChange = () => {}) {
  const store = new LiveStore(live.streamId);
  // One viewer's reports, marked on a replayed comment as on a live one.
  store.reports = live.reports;
  const liveConfig = config.live ?? null;
  const timeline = new ReplayTimeline(liveConfig ? Infinity : config.durationMs);
  const video = /** @type {HTMLVideoElement | null} */ (document.querySelector(".player-video"));
  if (liveConfig && !video) throw new Error("replay: a live stream replays only along its video");
  const clock = video ? null : new ReplayClock(config.durationMs);
  // The wall clock in the server's time: offsets are from Stream.created_at, a server time.
  const skewMs = liveConfig ? liveConfig.serverNowMs - Date.now() : 0;
  const wall = () => Date.now() + skewMs;
  const edge = liveConfig ? new LiveEdge(liveConfig.startedAtMs) : null;

  const strip = element("div", "heat-strip");
  strip.setAttribute("role", "group");
  strip.setAttribute("aria-label", "Moments: where the chat and the reactions peaked");
  strip.dataset.heatStrip = "";
  const controls = element("div", "replay-controls");
  const status = element("span", "replay-status", "Loading chat…");
  status.setAttribute("role", "status");
  status.dataset.replayStatus = "";
  const rate = element("select", "replay-rate");
  rate.setAttribute("aria-label", "Playback speed");
  rate.dataset.replayRate = "";
  for (const value of RATES) {
    const option = element("option", "", `${value}×`);
    option.value = String(value);
    option.selected = value === 1;
    rate.append(option);
  }
  const playButton = iconButton("replay-play");
  playButton.dataset.replayPlay = "";
  const seekBar = element("input", "replay-seek");
  seekBar.type = "range";
  seekBar.min = "0";
  seekBar.max = String(config.durationMs);
  seekBar.step = "1000";
  seekBar.value = "0";
  seekBar.setAttribute("aria-label", "Position in the stream");
  seekBar.dataset.replaySeek = "";
  const position = element("span", "replay-position", "0:00");
  /** @type {HTMLButtonElement | null} */
  let soundButton = null;
  /** @type {HTMLButtonElement | null} */
  let fullScreenButton = null;
  /** @type {HTMLButtonElement | null} */
  let backToLive = null;
  // The video and its controls, which go full screen together.
  const frame = /** @type {HTMLElement} */ (container.parentElement);
  if (edge) {
    // A live stream: its video keeps its own controls; where the chat stands, and the way back.
    backToLive = element("button", "replay-live", "Back to live");
    backToLive.type = "button";
    backToLive.dataset.backToLive = "";
    backToLive.setAttribute("aria-label", "Back to live: the video's live edge and the live chat");
    controls.append(status, backToLive);
    container.classList.add("is-behind-live");
    container.append(controls);
  } else {
    // An ended stream: these controls are the video's, the heat strip on their timeline.
    controls.append(playButton, position, status, rate);
    if (video) {
      video.controls = false;
      soundButton = iconButton("replay-sound");
      controls.append(soundButton);
      if (document.fullscreenEnabled) {
        fullScreenButton = iconButton("replay-full-screen");
        controls.append(fullScreenButton);
      }
    }
    container.append(strip, seekBar, controls);
    container.hidden = false;
  }

  const now = () => performance.now();
  const playhead = () => {
    if (edge) return edge.offsetMs(wall());
    return video ? video.currentTime * 1000 : /** @type {ReplayClock} */ (clock).position(now());
  };
  /** @param {HTMLVideoElement} playing @returns {import('./replay-store.js').VideoSample} */
  const sample = (playing) => ({
    positionMs: playing.currentTime * 1000,
    edgeMs: liveEdgeMs(playing),
    lengthMs: seekableMs(playing) && playing.seekable.end(playing.seekable.length - 1) * 1000,
    loops: playing.loop,
    holding: !playing.paused || playing.played.length === 0,
    wallMs: wall(),
  });
  /** Whether a live stream's video can seek back far enough to be behind live. */
  const canSeekBack = () => Boolean(video) && seekableMs(/** @type {HTMLVideoElement} */ (video))
    > (liveEdgeMs(/** @type {HTMLVideoElement} */ (video)) === null ? 2 : 1) * BEHIND_LIVE_MS;
  /** Where the heat strip ends: the video's length once known, else the stream's. */
  const span = () => (video && Number.isFinite(video.duration) && video.duration > 0
    ? video.duration * 1000 : config.durationMs);

  /** @param {number} offsetMs */
  function seek(offsetMs) {
    if (video) video.currentTime = offsetMs / 1000;
    else /** @type {ReplayClock} */ (clock).seek(offsetMs, now());
    tick();
  }

  /** @param {number} index */
  async function load(index) {
    timeline.loading.add(index);
    /** @type {ReplayPage[]} */
    const pages = [];
    try {
      // A live stream's window is complete up to what the server had stored when asked.
      const untilMs = edge ? wall() - STORE_LAG_MS - (liveConfig?.startedAtMs ?? 0) : Infinity;
      let after = "";
      do {
        const query = `from=${index * WINDOW_MS}&to=${(index + 1) * WINDOW_MS}${after ? `&after=${after}` : ""}`;
        const page = /** @type {ReplayPage} */ (await getJson(`${config.replayUrl}?${query}`));
        pages.push(page);
        after = page.next ?? "";
      } while (after);
      timeline.addWindow(index, pages, untilMs);
      tick();
    } catch (error) {
      console.warn("replay: loading a window failed", error);
      setTimeout(() => timeline.forget(index), RETRY_MS);
    }
  }

  let lastAt = -1;
  let shownSignature = "";
  let wasBehind = false;
  function tick() {
    if (edge && video) {
      const behind = canSeekBack() && edge.update(sample(video));
      if (behind !== wasBehind) {
        wasBehind = behind;
        container.hidden = !behind;
        shownSignature = "";
        lastAt = -1;
        onShowingChange();
      }
      if (!behind) return;
    }
    const at = playhead();
    const speed = video ? video.playbackRate : /** @type {ReplayClock} */ (clock).rate;
    for (const index of timeline.wanted(at, speed)) load(index);
    if (!edge) drawControls(at);
    const shown = timeline.shownAt(at);
    const where = edge ? `Replay, ${behindText(edge.behindMs)}` : "Chat replay";
    setText(status, shown === null ? "Loading chat…" : where);
    if (shown === null) return;
    if (at > lastAt && at - lastAt < BURST_GAP_MS) {
      const counts = timeline.reactionsBetween(lastAt, at);
      if (Object.keys(counts).length) view.burst(counts);
    }
    lastAt = at;
    // Every frame asks; the list is touched only when what it should show changed.
    const signature = `${shown.length}|${shown[0]?.id}|${shown.at(-1)?.id}`;
    if (signature === shownSignature) return;
    shownSignature = signature;
    const keep = new Set(shown.map((comment) => comment.id));
    store.applyRemoved(store.comments.filter((comment) => !keep.has(comment.id)).map((comment) => comment.id));
    const added = store.applyBatch(shown);
    store.pinned = timeline.pinnedAt(at);
    view.renderComments(store, added.length, Date.now());
    view.renderPinned(store.pinned);
  }

  /** Whether the pointer holds the timeline's thumb: the playhead then follows it, not the reverse. */
  let dragging = false;
  let playedUpTo = -1;
  /** The ended stream's controls at the playhead `at`. @param {number} at */
  function drawControls(at) {
    const length = span();
    setText(position, `${clockText(at)} / ${clockText(length)}`);
    if (seekBar.max !== String(Math.round(length))) seekBar.max = String(Math.round(length));
    if (!dragging) seekBar.value = String(Math.round(at));
    const played = `${(Math.min(1, at / length) * 100).toFixed(2)}%`;
    if (container.style.getPropertyValue("--played") !== played) container.style.setProperty("--played", played);
    if (clock && clock.playing && clock.ended(now())) clock.pause(now());
    const playing = video ? !video.paused && !video.ended : /** @type {ReplayClock} */ (clock).playing;
    showAs(playButton, playing ? "pause" : "play", playing ? "Pause" : "Play");
    if (video && soundButton) showAs(soundButton, video.muted ? "muted" : "sound", video.muted ? "Unmute" : "Mute");
    if (fullScreenButton) {
      const full = document.fullscreenElement === frame;
      showAs(fullScreenButton, full ? "exitFullScreen" : "fullScreen", full ? "Exit full screen" : "Full screen");
    }
    // The moments played so far are drawn as the timeline's played part is.
    const upTo = moments ? Math.floor(at / moments.bucketMs) : -1;
    if (upTo === playedUpTo) return;
    playedUpTo = upTo;
    for (const bar of strip.children) {
      bar.classList.toggle("is-played", Number(/** @type {HTMLElement} */ (bar).dataset.offset) <= at);
    }
  }

  function playOrPause() {
    if (clock) {
      if (clock.playing) clock.pause(now());
      else clock.play(now());
    } else if (video?.paused || video?.ended) {
      // A browser may refuse to play (autoplay rules); the button stays "Play" then.
      video.play().catch(() => {});
    } else video?.pause();
    tick();
  }

  backToLive?.addEventListener("click", () => {
    const playing = /** @type {HTMLVideoElement} */ (video);
    const at = sample(playing);
    const target = /** @type {LiveEdge} */ (edge).edgeAt(at);
    playing.currentTime = target / 1000;
    /** @type {LiveEdge} */ (edge).rejoin(target, at.wallMs);
    // Autoplay rules may refuse; the video is at the edge either way.
    playing.play().catch(() => {});
    // The button hides at live: keep the keyboard's place on the video it acted on.
    playing.focus();
    tick();
  });
  rate.addEventListener("change", () => {
    const value = clampRate(Number(rate.value));
    if (video) video.playbackRate = value;
    else /** @type {ReplayClock} */ (clock).setRate(value, now());
  });
  if (video) {
    video.defaultPlaybackRate = 1;
    const events = ["play", "pause", "ended", "seeking", "seeked", "ratechange", "loadedmetadata", "volumechange"];
    for (const event of events) {
      video.addEventListener(event, () => {
        if (event === "ratechange") rate.value = String(clampRate(video.playbackRate));
        if (event === "loadedmetadata" && !edge) drawStrip();
        tick();
      });
    }
  }
  // Without controls of its own, a click on the picture plays or pauses, as players do.
  if (!edge) (video ?? document.querySelector(".player-placeholder"))?.addEventListener("click", playOrPause);
  playButton.addEventListener("click", playOrPause);
  soundButton?.addEventListener("click", () => {
    const playing = /** @type {HTMLVideoElement} */ (video);
    playing.muted = !playing.muted;
  });
  fullScreenButton?.addEventListener("click", () => {
    if (document.fullscreenElement === frame) document.exitFullscreen().catch(() => {});
    else frame.requestFullscreen().catch((error) => console.warn("replay: full screen refused", error));
  });
  document.addEventListener("fullscreenchange", () => tick());
  seekBar.addEventListener("pointerdown", () => { dragging = true; });
  for (const event of ["pointerup", "pointercancel", "change"]) {
    seekBar.addEventListener(event, () => { dragging = false; });
  }
  seekBar.addEventListener("input", () => seek(Number(seekBar.value)));
  strip.addEventListener("click", (event) => {
    const bar = /** @type {HTMLElement} */ (event.target).closest("[data-offset]");
    if (bar instanceof HTMLElement) seek(Number(bar.dataset.offset));
  });

  /** @type {Moments | null} */
  let moments = null;
  function drawStrip() {
    if (!moments) return;
    const length = span();
    const heights = barHeights(moments.buckets);
    const bars = [];
    for (const [index, moment] of moments.buckets.entries()) {
      if (moment.offsetMs >= length) break;
      const bar = element("button", "heat-bar");
      bar.type = "button";
      bar.tabIndex = -1;
      bar.dataset.offset = String(moment.offsetMs);
      bar.dataset.heat = heights[index].toFixed(4);
      bar.style.left = `${(moment.offsetMs / length) * 100}%`;
      bar.style.width = `${(Math.min(moments.bucketMs, length - moment.offsetMs) / length) * 100}%`;
      bar.style.height = `${Math.max(4, heights[index] * 100)}%`;
      const words = `${clockText(moment.offsetMs)}: ${moment.comments} comments, ${moment.reactions} reactions`;
      bar.title = words;
      bar.setAttribute("aria-label", `Go to ${words}`);
      bars.push(bar);
    }
    strip.replaceChildren(...bars);
    playedUpTo = -1;
  }
  function loadMoments() {
    getJson(config.momentsUrl).then((answer) => {
      moments = /** @type {Moments} */ (answer);
      drawStrip();
      tick();
    }, (error) => console.warn("replay: loading the moments failed", error));
  }
  if (!edge) loadMoments();

  const everyFrame = () => {
    tick();
    requestAnimationFrame(everyFrame);
  };
  requestAnimationFrame(everyFrame);
  setInterval(tick, TICK_MS);
  return {
    store,
    showing: () => !edge || edge.behind,
    removed(commentIds) {
      timeline.remove(commentIds);
      store.applyRemoved(commentIds);
      shownSignature = "";
      // The moments counted them: the heat strip is drawn again from a new count.
      if (!edge) loadMoments();
      tick();
    },
    updated(comment) {
      timeline.update(comment);
      store.applyCommentUpdated(comment);
      shownSignature = "";
      tick();
    },
  };
}
