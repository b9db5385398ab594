// @ts-check
/**
 * The replay of an ended stream's chat, in step with its video (or, with none, with a
 * clock of its own): the chat at each moment, a heat strip of the moments, and controls.
 * It draws through the live page's StreamView and a LiveStore of its own, so a replayed
 * comment looks exactly like a live one; app.js hands it the comment list and the pins.
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
 * @typedef {{store: LiveStore, showing: () => boolean}} Replay
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
 * Start the replay on `container` (the player's [data-replay]). Returns the store the
 * comment list and the pinned banner are drawn from while `showing()` (always, for an
 * ended stream; while behind live, for a live one); `onShowingChange` is called when a
 * live stream's viewer falls behind live or comes back.
 * @param {ReplayConfig} config @param {HTMLElement} container @param {StreamView} view
 * @param {string} streamId @param {() => void} onShowingChange
 * @returns {Replay}
 */
export function startReplay(config, container, view, streamId, onShowingChange = () => {}) {
  const store = new LiveStore(streamId);
  const live = config.live ?? null;
  const timeline = new ReplayTimeline(live ? Infinity : config.durationMs);
  const video = /** @type {HTMLVideoElement | null} */ (document.querySelector(".player-video"));
  if (live && !video) throw new Error("replay: a live stream replays only along its video");
  const clock = video ? null : new ReplayClock(config.durationMs);
  // The wall clock in the server's time: offsets are from Stream.created_at, a server time.
  const skewMs = live ? live.serverNowMs - Date.now() : 0;
  const wall = () => Date.now() + skewMs;
  const edge = live ? new LiveEdge(live.startedAtMs) : null;

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
  /** @type {HTMLButtonElement | null} */
  let backToLive = null;
  if (edge) {
    // A live stream: no heat strip nor speed; where the chat stands, and the way back.
    backToLive = element("button", "replay-live", "Back to live");
    backToLive.type = "button";
    backToLive.dataset.backToLive = "";
    backToLive.setAttribute("aria-label", "Back to live: the video's live edge and the live chat");
    controls.append(status, backToLive);
    container.append(controls);
  } else {
    controls.append(position, rate, status);
    container.append(strip, controls);
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
      const untilMs = edge ? wall() - STORE_LAG_MS - (live?.startedAtMs ?? 0) : Infinity;
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
    setText(position, `${clockText(at)} / ${clockText(span())}`);
    if (seekBar && document.activeElement !== seekBar) seekBar.value = String(Math.round(at));
    if (playButton && clock) {
      if (clock.playing && clock.ended(now())) clock.pause(now());
      setText(playButton, clock.playing ? "Pause" : "Play");
    }
    const shown = timeline.shownAt(at);
    const where = edge ? `Replay, ${behindText(edge.behindMs)}` : "Replay";
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
    for (const event of ["play", "pause", "seeking", "seeked", "ratechange", "loadedmetadata"]) {
      video.addEventListener(event, () => {
        if (event === "ratechange") rate.value = String(clampRate(video.playbackRate));
        if (event === "loadedmetadata" && !edge) drawStrip();
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
  if (!edge) getJson(config.momentsUrl).then((answer) => {
    moments = /** @type {Moments} */ (answer);
    drawStrip();
  }, (error) => console.warn("replay: loading the moments failed", error));

  const everyFrame = () => {
    tick();
    requestAnimationFrame(everyFrame);
  };
  requestAnimationFrame(everyFrame);
  setInterval(tick, TICK_MS);
  return { store, showing: () => !edge || edge.behind };
}
