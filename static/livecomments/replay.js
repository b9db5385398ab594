// @ts-check
/**
 * The replay of an ended stream's chat, in step with its video (or, with none, with a
 * clock of its own): the chat at each moment, a heat strip of the moments, and controls.
 * It draws through the live page's StreamView and a LiveStore of its own, so a replayed
 * comment looks exactly like a live one; app.js hands it the comment list and the pins.
 */

import { LiveStore } from "./store.js";
import { element } from "./view.js";
import {
  ReplayClock, ReplayTimeline, WINDOW_MS, barHeights, clampRate, clockText,
} from "./replay-store.js";

/**
 * @typedef {import('./view.js').StreamView} StreamView
 * @typedef {import('./replay-store.js').ReplayPage} ReplayPage
 * @typedef {import('./replay-store.js').Moments} Moments
 * @typedef {{replayUrl: string, momentsUrl: string, durationMs: number}} ReplayConfig
 */

/** Besides every animation frame (which a hidden tab does not get), the chat follows at this pace. */
const TICK_MS = 250;
/** A window that failed to load is asked for again after this long. */
const RETRY_MS = 2000;
/** A jump bigger than this is a seek, not playing on: its reactions do not burst. */
const BURST_GAP_MS = 1500;
const RATES = [0.5, 0.75, 1, 1.25, 1.5, 2];

/** Change a text only when it differs: a status is announced on every change. @param {HTMLElement} node @param {string} text */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** @param {string} url */
async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Start the replay on `container` (the player's [data-replay]); returns the store the
 * comment list and the pinned banner are drawn from.
 * @param {ReplayConfig} config @param {HTMLElement} container @param {StreamView} view
 * @param {string} streamId
 */
export function startReplay(config, container, view, streamId) {
  const store = new LiveStore(streamId);
  const timeline = new ReplayTimeline(config.durationMs);
  const video = /** @type {HTMLVideoElement | null} */ (document.querySelector(".player-video"));
  const clock = video ? null : new ReplayClock(config.durationMs);

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
  /** @type {HTMLButtonElement | null} */
  let playButton = null;
  /** @type {HTMLInputElement | null} */
  let seekBar = null;
  const position = element("span", "replay-position", "0:00");
  if (clock) {
    playButton = element("button", "replay-play", "Play");
    playButton.type = "button";
    playButton.dataset.replayPlay = "";
    seekBar = element("input", "replay-seek");
    seekBar.type = "range";
    seekBar.min = "0";
    seekBar.max = String(config.durationMs);
    seekBar.step = "1000";
    seekBar.value = "0";
    seekBar.setAttribute("aria-label", "Position in the stream");
    seekBar.dataset.replaySeek = "";
    controls.append(playButton, seekBar);
  }
  controls.append(position, rate, status);
  container.append(strip, controls);
  container.hidden = false;

  const now = () => performance.now();
  const playhead = () => (video ? video.currentTime * 1000 : /** @type {ReplayClock} */ (clock).position(now()));
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
      let after = "";
      do {
        const query = `from=${index * WINDOW_MS}&to=${(index + 1) * WINDOW_MS}${after ? `&after=${after}` : ""}`;
        const page = /** @type {ReplayPage} */ (await getJson(`${config.replayUrl}?${query}`));
        pages.push(page);
        after = page.next ?? "";
      } while (after);
      timeline.addWindow(index, pages);
      tick();
    } catch (error) {
      console.warn("replay: loading a window failed", error);
      setTimeout(() => timeline.forget(index), RETRY_MS);
    }
  }

  let lastAt = -1;
  let shownSignature = "";
  function tick() {
    const at = playhead();
    const speed = video ? video.playbackRate : /** @type {ReplayClock} */ (clock).rate;
    for (const index of timeline.wanted(at, speed)) load(index);
    setText(position, `${clockText(at)} / ${clockText(span())}`);
    if (seekBar && document.activeElement !== seekBar) seekBar.value = String(Math.round(at));
    if (playButton && clock) {
      if (clock.playing && clock.ended(now())) clock.pause(now());
      setText(playButton, clock.playing ? "Pause" : "Play");
    }
    const shown = timeline.shownAt(at);
    setText(status, shown === null ? "Loading chat…" : "Replay");
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

  rate.addEventListener("change", () => {
    const value = clampRate(Number(rate.value));
    if (video) video.playbackRate = value;
    else /** @type {ReplayClock} */ (clock).setRate(value, now());
  });
  if (video) {
    video.defaultPlaybackRate = 1;
    for (const event of ["play", "pause", "seeking", "seeked", "ratechange", "loadedmetadata"]) {
      video.addEventListener(event, () => {
        if (event === "ratechange") rate.value = String(clampRate(video.playbackRate));
        if (event === "loadedmetadata") drawStrip();
        tick();
      });
    }
  }
  playButton?.addEventListener("click", () => {
    const running = /** @type {ReplayClock} */ (clock);
    if (running.playing) running.pause(now());
    else running.play(now());
    tick();
  });
  seekBar?.addEventListener("input", () => seek(Number(/** @type {HTMLInputElement} */ (seekBar).value)));
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
  }
  getJson(config.momentsUrl).then((answer) => {
    moments = /** @type {Moments} */ (answer);
    drawStrip();
  }, (error) => console.warn("replay: loading the moments failed", error));

  const everyFrame = () => {
    tick();
    requestAnimationFrame(everyFrame);
  };
  requestAnimationFrame(everyFrame);
  setInterval(tick, TICK_MS);
  return store;
}
