"""A page under load in Chromium: the moderation console (issue 12, `manage.py loadbench
--console`) or the stream page (issue 14, `manage.py loadbench --page`).

One uvicorn gateway, one stream, the page open in Debian's Chromium (the console as a
moderator, the stream page as a signed-in viewer), and the benchmark's posters sending
RATE comments/s for DURATION seconds. A probe installed in the page before its scripts
samples, every 250 ms, how far behind the page's DOM is (now minus the server time of the
newest comment row it shows) and how many rows it holds; it also counts the main thread's
long tasks and notes every animation frame, whose gaps are the frames dropped. The
coordinator reads the page's JS heap, DOM nodes and main-thread time from the DevTools
protocol once a second. Nothing here asserts a bound: it prints the figures and writes
them as JSON.

Playwright is in the dev extra only; it is imported when a run starts.
"""

import contextlib
import itertools
import json
import multiprocessing
import os
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from moderation.selectors import MODERATORS_GROUP

from . import clients, population, report
from .browser import CHROMIUM, launch_chromium
from .gateways import UNLIMITED_RATE, GatewayGroup, free_port, launch
from .runner import Progress, Target, _CpuMeter

MODERATOR_USERNAME = "loadbench-moderator"
VIEWER_USERNAME = "loadbench-viewer"
SAMPLE_MS = 250
# A frame at 60 Hz: a gap between animation frames of n of these lost n - 1 frames.
FRAME_MS = 1000 / 60
# The pages a soak opens: where, and who opens it (the console is a moderator's).
PAGES = {
    "console": ("/moderate/{stream_id}/", MODERATOR_USERNAME),
    "stream": ("/streams/{stream_id}/", VIEWER_USERNAME),
}
# Main-thread time the DevTools protocol accounts, cumulative seconds (Performance.getMetrics).
MAIN_THREAD_METRICS = {
    "TaskDuration": "task",
    "ScriptDuration": "script",
    "LayoutDuration": "layout",
    "RecalcStyleDuration": "style",
}

# Installed before the page's own scripts. Every SAMPLE_MS it notes [now, server time of
# the newest comment row, its comment number from the posters' content, rows in the feed]
# (Date.now() and the gateway share this machine's clock). A main thread that is busy
# delays the sample itself, so the gaps between samples are a figure too.
PROBE = """
(() => {
  const soak = { samples: [], longTasks: [], frames: [], observer: "longtask" };
  window.__consoleSoak = soak;
  // Every animation frame's time: the page paints at most this often, and a long gap
  // between two is frames the viewer did not get.
  const frame = (at) => {
    soak.frames.push(performance.timeOrigin + at);
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        soak.longTasks.push([performance.timeOrigin + entry.startTime, entry.duration]);
      }
    }).observe({ type: "longtask", buffered: true });
  } catch (error) {
    soak.observer = String(error);
  }
  const newestOf = (rows) => {
    let newest = null;
    for (const row of [rows[0], rows[rows.length - 1]]) {
      const time = row && row.querySelector("time[datetime]");
      const at = time ? Date.parse(time.getAttribute("datetime")) : NaN;
      if (!Number.isNaN(at) && (newest === null || at > newest.at)) {
        const content = row.querySelector(".comment-content");
        const number = Number((content ? content.textContent : "").split(":")[2]);
        newest = { at, number: Number.isNaN(number) ? null : number };
      }
    }
    return newest;
  };
  setInterval(() => {
    const now = Date.now();
    const list = document.querySelector("[data-comment-list]");
    const rows = list ? list.querySelectorAll("li[data-comment-id]") : [];
    const newest = newestOf(rows);
    soak.samples.push([now, newest ? newest.at : null, newest ? newest.number : null, rows.length]);
  }, SAMPLE_MS);
})();
""".replace("SAMPLE_MS", str(SAMPLE_MS))


@dataclass(frozen=True)
class ConsoleScenario:
    rate: float = 100.0  # comments/s over all posters
    duration: float = 60.0  # seconds of posting
    posters: int = 100
    server: str = "uvicorn"
    drain: float = 10.0  # seconds allowed after posting for the page to show the last comment
    connect_timeout: float = 60.0
    page: str = "console"  # a key of PAGES
    profile: str = ""  # a path: the page's JS profile while posting, for DevTools (.cpuprofile)

    def __post_init__(self) -> None:
        if self.page not in PAGES:
            raise ValueError(f"no page {self.page!r}: one of {', '.join(PAGES)}")

    @property
    def planned_comments(self) -> int:
        return max(1, round(self.rate * self.duration))


@dataclass
class _Readings:
    heap_mb: list[tuple[float, float]] = field(default_factory=list)  # (time, MB)
    nodes: list[int] = field(default_factory=list)
    main_thread_start: dict[str, float] = field(default_factory=dict)
    main_thread_end: dict[str, float] = field(default_factory=dict)
    gateway_cpu: list[float] = field(default_factory=list)
    browser_cpu: list[float] = field(default_factory=list)
    loadgen_cpu: list[float] = field(default_factory=list)
    other_cpu: list[float] = field(default_factory=list)


def page_session(page: str) -> tuple[str, str]:
    """The user who opens `page` signed in: (username, session key). The console's is a
    moderator (staff, in the Moderators group); the stream page's a plain viewer."""
    username = PAGES[page][1]
    if username == MODERATOR_USERNAME:
        return moderator_session()
    user, _ = get_user_model().objects.get_or_create(username=username)
    return _signed_in(user)


def moderator_session() -> tuple[str, str]:
    """A moderator (staff, in the Moderators group) signed in: (username, session key)."""
    user, _ = get_user_model().objects.get_or_create(
        username=MODERATOR_USERNAME, defaults={"is_staff": True}
    )
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    # The migration makes the group; a database flushed since (tests) may not have it.
    user.groups.add(Group.objects.get_or_create(name=MODERATORS_GROUP)[0])
    return _signed_in(user)


def _signed_in(user) -> tuple[str, str]:
    client = Client()
    client.force_login(user)
    return user.get_username(), client.cookies[settings.SESSION_COOKIE_NAME].value


def start_gateway(server: str, redis_url: str, log_dir: Path) -> GatewayGroup:
    """One gateway as loadbench starts them, but on console_settings, and sharing this
    process's SECRET_KEY: the session it signs in the moderator with is signed with it."""
    env = dict(
        os.environ,
        DATABASE_URL=population.database_url(),
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="loadbench.console_settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SSL_REDIRECT="0",
        LOG_LEVEL=os.environ.get("LOADBENCH_GATEWAY_LOG_LEVEL", "WARNING"),
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
        LC_MAX_SOCKETS_PER_CLIENT="1000000",
        **UNLIMITED_RATE,
    )
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    gateway = launch(
        env, log_dir / f"gateway-console-{port}.log", port=port, server=server, quiet=True
    )
    group = GatewayGroup(
        [gateway],
        [
            "rate limits raised for the gateway this run started (LC_RATE_*=100000000)",
            "sockets per client address uncapped (LC_MAX_SOCKETS_PER_CLIENT)",
        ],
    )
    try:
        gateway.wait_listening(30)
    except BaseException:
        group.stop()
        raise
    return group


def _browser_processes() -> list[psutil.Process]:
    """Chromium's processes: started by Playwright's driver, a child of this process."""
    found = []
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if "chrom" in process.name().lower():
                found.append(process)
    return found


def run_console_soak(scenario: ConsoleScenario, target: Target, out=sys.stdout) -> dict:
    """Run the page under load end to end and return its figures."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise RuntimeError(f"--{scenario.page} needs Playwright: pip install -e '.[dev]'") from None
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or CHROMIUM_PATH)"
        )
    if not population.database_is_migrated():
        raise RuntimeError("the database has unapplied migrations: run manage.py migrate first")
    started = time.time()
    run_id = secrets.token_hex(4)
    # The ORM first: once Playwright's loop runs in this thread, Django refuses it.
    stream_id = population.create_stream(f"loadbench {scenario.page} {scenario.rate}/s {run_id}")
    tokens = population.poster_tokens(scenario.posters)
    reader, session_key = page_session(scenario.page)
    group = start_gateway(scenario.server, target.redis_url or settings.REDIS_URL, target.log_dir)
    try:
        out.write(
            f"[{scenario.page}] stream {stream_id}, {scenario.server} gateway "
            f"{group.gateways[0].origin}, {reader} on {PAGES[scenario.page][0]} in Chromium, "
            f"{scenario.posters} posters at "
            f"{scenario.rate}/s for {scenario.duration:.0f} s\n"
        )
        with sync_playwright() as playwright:
            figures = _drive(
                scenario, group, run_id, stream_id, tokens, session_key, playwright, out
            )
    finally:
        group.stop()
    figures["comments"]["stored"] = population.stored_comments(stream_id)
    figures["gateway_log_problems"] = group.log_problems()[:20]
    figures.update(
        target=scenario.page,
        scenario=asdict(scenario) | {"stream_id": stream_id, "url": group.gateways[0].origin},
        notes=group.notes,
        started_at=datetime.fromtimestamp(started, UTC).isoformat(),
        wall_s=round(time.time() - started, 1),
    )
    return figures


def _drive(scenario, group, run_id, stream_id, tokens, session_key, playwright, out) -> dict:
    progress = Progress(out)
    context = multiprocessing.get_context("spawn")
    counters = context.Array("q", clients.SLOTS, lock=False)
    start_at = context.Value("d", 0.0, lock=False)
    stop, open_viewers, results = context.Event(), context.Event(), context.Queue()
    open_viewers.set()  # no viewer sockets: the page is the one reader
    url = group.urls[0]
    planned = scenario.planned_comments
    plan = clients.WorkerPlan(
        index=0,
        run_id=run_id,
        stream_id=str(stream_id),
        viewer_urls=(),
        poster_urls=(url,) * len(tokens),
        poster_tokens=tuple(tokens),
        first_comment=0,
        comment_count=planned,
        total_comments=planned,
        duration=scenario.duration,
        deadline=time.time() + scenario.connect_timeout * 2 + scenario.duration + 60,
    )
    worker = context.Process(
        target=clients.worker_main,
        args=(plan, counters, open_viewers, start_at, stop, results),
        daemon=True,
    )
    worker.start()
    browser = launch_chromium(playwright)
    try:
        return _measure(
            scenario, group, worker, counters, start_at, stop, results, browser,
            session_key, stream_id, progress,
        )  # fmt: skip
    finally:
        stop.set()
        browser.close()
        worker.join(10)
        if worker.is_alive():
            worker.terminate()


def _measure(
    scenario, group, worker, counters, start_at, stop, results, browser, session_key,
    stream_id, progress,
) -> dict:  # fmt: skip
    origin = group.gateways[0].origin
    page_context = browser.new_context(base_url=origin, viewport={"width": 1280, "height": 800})
    page_context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": origin}]
    )
    page_context.add_init_script(PROBE)
    page = page_context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    deadline = time.time() + scenario.connect_timeout
    while counters[clients.POSTERS_JOINED] + counters[clients.FAILED] < scenario.posters:
        if time.time() > deadline or not worker.is_alive():
            break
        progress.show(
            f"[{scenario.page}] posters connecting: {counters[clients.POSTERS_JOINED]} joined"
        )
        time.sleep(0.5)
    if not worker.is_alive():
        raise RuntimeError(f"load generator failed before posting: {_crash(results)}")
    page.goto(PAGES[scenario.page][0].format(stream_id=stream_id))
    connection = page.locator("[data-connection]")
    while connection.text_content() != "Live":
        if time.time() > deadline:
            raise RuntimeError(
                f"the {scenario.page} page never went live ({connection.text_content()!r}); "
                f"page errors: {page_errors or 'none'}"
            )
        time.sleep(0.2)
    cdp = page_context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def metrics() -> dict[str, float]:
        return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

    readings = _Readings()
    gateway_cpu = _CpuMeter(group.processes())
    browser_cpu = _CpuMeter(_browser_processes())
    loadgen_cpu = _CpuMeter([psutil.Process(worker.pid)])
    time.sleep(1)
    first = metrics()
    readings.main_thread_start = {k: first[k] for k in MAIN_THREAD_METRICS}
    readings.heap_mb.append((time.time(), first["JSHeapUsedSize"] / 2**20))
    readings.nodes.append(int(first["Nodes"]))
    for meter in (gateway_cpu, browser_cpu, loadgen_cpu):
        meter.delta()
    psutil.cpu_percent()

    if scenario.profile:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.start")
    start = time.time() + 0.5
    start_at.value = start
    posting_end = start + scenario.duration
    last_tick = time.time()
    while time.time() < posting_end + scenario.drain:
        time.sleep(max(0.0, 1 - (time.time() - last_tick)))
        now = time.time()
        elapsed, last_tick = now - last_tick, now
        current = metrics()
        heap = current["JSHeapUsedSize"] / 2**20
        readings.heap_mb.append((now, heap))
        readings.nodes.append(int(current["Nodes"]))
        cpu = {
            "gateway": 100 * gateway_cpu.delta() / elapsed,
            "browser": 100 * browser_cpu.delta() / elapsed,
            "generator": 100 * loadgen_cpu.delta() / elapsed,
        }
        if now <= posting_end + 1:
            readings.gateway_cpu.append(cpu["gateway"])
            readings.browser_cpu.append(cpu["browser"])
            readings.loadgen_cpu.append(cpu["generator"])
            machine = psutil.cpu_percent() * (psutil.cpu_count() or 1)
            readings.other_cpu.append(max(0.0, machine - sum(cpu.values())))
        probe = page.evaluate(
            "(() => { const s = window.__consoleSoak;"
            " return [s.samples[s.samples.length - 1] || null, s.longTasks.length,"
            " s.longTasks.reduce((t, e) => t + e[1], 0)]; })()"
        )
        sample, long_tasks, long_task_ms = probe
        lag = f"{sample[0] - sample[1]:5.0f} ms" if sample and sample[1] is not None else "    -"
        rows = sample[3] if sample else 0
        sent, acked = counters[clients.SENT], counters[clients.ACKED]
        accepted = counters[clients.ACCEPTED]
        phase = "posting" if now < posting_end else "draining"
        progress.show(
            f"[{scenario.page}] {phase} t={now - start:5.1f}s sent {sent} accepted {accepted} "
            f"lag {lag} rows {rows} heap {heap:.1f} MB long tasks {long_tasks} "
            f"({long_task_ms:.0f} ms) cpu: browser {cpu['browser']:.0f}% "
            f"gateway {cpu['gateway']:.0f}% generator {cpu['generator']:.0f}%"
        )
        newest = sample[2] if sample else None
        shown_last = newest is not None and newest >= scenario.planned_comments - 1
        if now >= posting_end and acked >= sent and shown_last:
            break
        if group.dead():
            progress.show(f"[{scenario.page}] gateway died: {', '.join(group.dead())}")
            break
    progress.done()
    if scenario.profile:
        profile = cdp.send("Profiler.stop")["profile"]
        Path(scenario.profile).write_text(json.dumps(profile))
    last = metrics()
    readings.main_thread_end = {k: last[k] for k in MAIN_THREAD_METRICS}
    probe = page.evaluate("window.__consoleSoak")
    stop.set()
    try:
        worker_result = results.get(timeout=60)
    except Exception:  # queue.Empty: a worker that hangs must not hang the benchmark
        raise RuntimeError("load generator failed: the poster process returned nothing") from None
    if "crash" in worker_result:
        raise RuntimeError(f"load generator failed: {worker_result['crash']}")
    page_context.close()
    worker_result["sent"] = counters[clients.SENT]
    return _figures(scenario, start, posting_end, probe, readings, worker_result, page_errors)


def _crash(results) -> str:
    try:
        return results.get(timeout=1).get("crash", "it returned early")
    except Exception:  # queue.Empty
        return "it exited without a word"


def _figures(scenario, start, posting_end, probe, readings, worker_result, page_errors) -> dict:
    samples = probe["samples"]
    posting = [s for s in samples if start <= s[0] / 1000 <= posting_end]
    lags: dict[int, int] = {}
    for now_ms, newest_ms, _, _ in posting:
        if newest_ms is not None:
            lag = max(0, round(now_ms - newest_ms))
            lags[lag] = lags.get(lag, 0) + 1
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(samples)]
    long_tasks = [d for at, d in probe["longTasks"] if start <= at / 1000 <= posting_end]
    frames = [at for at in probe["frames"] if start <= at / 1000 <= posting_end]
    frame_gaps = [b - a for a, b in itertools.pairwise(frames)]
    heap_posting = [mb for at, mb in readings.heap_mb if at >= start - 1.5]
    newest_numbers = [s[2] for s in samples if s[2] is not None]
    last_sample = samples[-1] if samples else None
    main_thread = {
        f"{name}_ms": round(
            1000 * (readings.main_thread_end[key] - readings.main_thread_start[key])
        )
        for key, name in MAIN_THREAD_METRICS.items()
    }
    window = max(0.001, (last_sample[0] / 1000 if last_sample else posting_end) - start)
    main_thread["busy_percent"] = round(main_thread["task_ms"] / 10 / window, 1)
    accepted = bin(int.from_bytes(worker_result["accepted"], "little")).count("1")
    return {
        "lag_ms": report.percentiles(lags),
        "rows": {
            "max": max((s[3] for s in samples), default=0),
            "end": last_sample[3] if last_sample else 0,
        },
        "samples": {
            "during_posting": len(posting),
            "with_a_row": sum(lags.values()),
            "gap_max_ms": round(max(gaps)) if gaps else None,
        },
        "caught_up": {
            "last_comment_shown": bool(newest_numbers)
            and max(newest_numbers) >= scenario.planned_comments - 1,
            "newest_number_shown": max(newest_numbers) if newest_numbers else None,
        },
        "heap_mb": {
            "start": round(heap_posting[0], 1) if heap_posting else None,
            "end": round(heap_posting[-1], 1) if heap_posting else None,
            "max": round(max(heap_posting), 1) if heap_posting else None,
        },
        "dom_nodes": {"start": readings.nodes[0], "end": readings.nodes[-1]},
        "long_tasks": {
            "observer": probe["observer"],
            "count": len(long_tasks),
            "total_ms": round(sum(long_tasks)),
            "max_ms": round(max(long_tasks)) if long_tasks else 0,
        },
        "frames": {
            "drawn": len(frames),
            "dropped": sum(max(0, round(gap / FRAME_MS) - 1) for gap in frame_gaps),
            "longest_gap_ms": round(max(frame_gaps)) if frame_gaps else None,
        },
        "main_thread": main_thread,
        "comments": {
            "planned": scenario.planned_comments,
            "sent": worker_result["sent"],
            "accepted": accepted,
            "refusals": worker_result["refusals"],
            "errors": worker_result["errors"],
            "ack_latency_ms": report.percentiles(worker_result["ack_ms"]),
        },
        "cpu_percent_mean": {
            "browser": _mean(readings.browser_cpu),
            "gateway": _mean(readings.gateway_cpu),
            "generator": _mean(readings.loadgen_cpu),
            "other": _mean(readings.other_cpu),
            "cpu_count": psutil.cpu_count(),
        },
        "page_errors": page_errors[:20],
    }


def _mean(samples: list[float]) -> float | None:
    return round(sum(samples) / len(samples), 1) if samples else None


def summary(figures: dict) -> str:
    """The figures an issue asks for, one per line."""
    lag, heap, tasks, comments = (
        figures["lag_ms"],
        figures["heap_mb"],
        figures["long_tasks"],
        figures["comments"],
    )
    main, cpu, frames = figures["main_thread"], figures["cpu_percent_mean"], figures["frames"]
    nodes = figures["dom_nodes"]
    lines = [
        f"{figures['target']} lag (now - newest row's server time), every {SAMPLE_MS} ms "
        f"while posting: "
        f"p50 {lag['p50']} / p95 {lag['p95']} / max {lag['max']} ms ({lag['count']} samples; "
        f"longest gap between samples {figures['samples']['gap_max_ms']} ms)",
        f"rows in the feed: max {figures['rows']['max']}, at the end {figures['rows']['end']}; "
        f"last comment shown: {'yes' if figures['caught_up']['last_comment_shown'] else 'no'}",
        f"JS heap: {heap['start']} MB at the start, {heap['end']} MB at the end, "
        f"max {heap['max']} MB; DOM nodes {nodes['start']} → {nodes['end']}",
        f"long tasks while posting: {tasks['count']}, {tasks['total_ms']} ms in all, "
        f"longest {tasks['max_ms']} ms",
        f"animation frames while posting: {frames['drawn']} drawn, {frames['dropped']} dropped "
        f"(at 60 Hz), longest gap {frames['longest_gap_ms']} ms",
        f"main thread: {main['busy_percent']} % busy (script {main['script_ms']} ms, style "
        f"{main['style_ms']} ms, layout {main['layout_ms']} ms of {main['task_ms']} ms in tasks)",
        f"comments: {comments['planned']} planned, {comments['sent']} posted, "
        f"{comments['accepted']} accepted, {comments.get('stored', '?')} stored; "
        f"refusals {comments['refusals'] or 'none'}",
        f"CPU (% of a core): browser {cpu['browser']}, gateway {cpu['gateway']}, "
        f"generator {cpu['generator']}, everything else {cpu['other']} of {cpu['cpu_count']} cores",
    ]
    if figures["page_errors"]:
        lines.append(f"page errors: {figures['page_errors']}")
    if figures.get("gateway_log_problems"):
        lines.append(f"gateway log: {figures['gateway_log_problems'][:3]}")
    return "\n".join(lines)


def write_json(figures: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{figures['target']}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(figures, indent=2))
    return path
