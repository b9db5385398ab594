"""Drive one scenario: rows, gateways, client processes, phases, and the figures."""

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

from . import clients, population, profile, report, rules
from .gateways import FLOOR, GatewayGroup, start_gateways, target_gateways


@dataclass(frozen=True)
class Scenario:
    target: str  # "ours", "baseline" or "floor" (gateways.TARGETS)
    viewers: int
    posters: int
    rate: float  # comments/s over all posters
    duration: float  # seconds of posting
    gateways: int = 1
    server: str = "daphne"  # of the gateways the runner starts (livecomments.servers)
    client_processes: int = 0  # 0: one per 1,500 sockets, at least one
    drain: float = 10.0  # seconds allowed after posting for the last deliveries
    connect_timeout: float = 120.0
    # "": posts as ever. "off" and "on": posts carry chat-like text (loadbench.rules), and
    # "on" also blocks the 200 terms and holds links on the stream.
    rules: str = ""
    # Settings of our gateways that this scenario changes (e.g. LC_DIRECT_WRITES=0), to
    # run two variants side by side.
    gateway_env: tuple[tuple[str, str], ...] = ()

    @property
    def planned_comments(self) -> int:
        return max(1, round(self.rate * self.duration))

    def processes(self) -> int:
        if self.client_processes:
            return self.client_processes
        return max(1, -(-(self.viewers + self.posters) // 1500))


@dataclass(frozen=True)
class Target:
    """Where to point the clients; with no urls the runner starts `scenario.gateways` itself."""

    urls: tuple[str, ...] = ()
    pids: tuple[int, ...] = ()
    redis_url: str = ""
    raise_limits: bool = True
    log_dir: Path = Path("bench-results/logs")
    # Where py-spy's flame graphs and stacks of the gateways go; None: no profile.
    profile_dir: Path | None = None


class Progress:
    """One line a second: rewritten in place on a terminal, appended otherwise."""

    def __init__(self, out) -> None:
        self.out = out
        self.inline = out.isatty() if hasattr(out, "isatty") else False

    def show(self, text: str) -> None:
        if self.inline:
            self.out.write("\r" + text.ljust(150))
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def done(self) -> None:
        if self.inline:
            self.out.write("\n")
            self.out.flush()


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _plans(
    scenario: Scenario,
    run_id: str,
    stream_id: int,
    urls: list[str],
    tokens: list[str],
    deadline: float,
) -> list[clients.WorkerPlan]:
    processes = scenario.processes()
    viewer_counts = _split(scenario.viewers, processes)
    poster_counts = _split(scenario.posters, processes)
    total = scenario.planned_comments
    # Each poster posts at the same pace, so a worker's share of comments follows its posters.
    comment_counts = [total * p // scenario.posters for p in poster_counts]
    comment_counts[0] += total - sum(comment_counts)
    if poster_counts[0] == 0:
        raise ValueError("the first client process has no posters; use fewer processes")
    plans, viewer, poster, comment = [], 0, 0, 0
    for index in range(processes):
        v, p, c = viewer_counts[index], poster_counts[index], comment_counts[index]
        plans.append(
            clients.WorkerPlan(
                index=index,
                run_id=run_id,
                stream_id=str(stream_id),
                viewer_urls=tuple(urls[(viewer + i) % len(urls)] for i in range(v)),
                poster_urls=tuple(urls[(poster + i) % len(urls)] for i in range(p)),
                poster_tokens=tuple(tokens[poster : poster + p]),
                first_comment=comment,
                comment_count=c if p else 0,
                total_comments=total,
                duration=scenario.duration,
                deadline=deadline,
                chat_text=bool(scenario.rules),
            )
        )
        viewer, poster, comment = viewer + v, poster + p, comment + c
    return plans


@dataclass
class Readings:
    """What the coordinator reads off the gateways and the machine during a run."""

    rss_warm: int | None = None  # bytes, once the posters have joined
    rss_connected: int | None = None  # bytes, once the viewers have joined too
    rss_max: int = 0
    # Once a second while posting, in % of one core.
    gateway_cpu: list[float] = field(default_factory=list)
    loadgen_cpu: list[float] = field(default_factory=list)
    other_cpu: list[float] = field(default_factory=list)
    # From the first post to the last delivery (or the end of the drain); None: not measured.
    gateway_cpu_seconds: float | None = None


class _CpuMeter:
    """CPU seconds of a set of processes, read as deltas."""

    def __init__(self, processes: list[psutil.Process]) -> None:
        self.processes = processes
        self.last = self.total()

    def total(self) -> float:
        seconds = 0.0
        for process in self.processes:
            try:
                times = process.cpu_times()
                seconds += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return seconds

    def delta(self) -> float:
        now = self.total()
        spent, self.last = now - self.last, now
        return spent


# What the table says of the floor's rows: it keeps nothing.
NOT_STORED = "not stored"
# The server of gateways the runner did not start (--url): it cannot know which it is.
EXTERNAL = "external"


def run_scenario(scenario: Scenario, target: Target, out=sys.stdout) -> dict:
    """Run one scenario end to end and return its figures (see report.TABLE)."""
    if not population.database_is_migrated():
        raise RuntimeError("the database has unapplied migrations: run manage.py migrate first")
    started = time.time()
    run_id = secrets.token_hex(4)
    notes: list[str] = []
    if scenario.rules:
        other_terms = rules.install() if scenario.rules == "on" else rules.remove()
        if other_terms:
            notes.append(f"the database blocks {other_terms} other term(s), for every stream")
    stream_id = population.create_stream(
        f"loadbench {scenario.target} {scenario.viewers}v {scenario.rate}/s {run_id}",
        hold_links=scenario.rules == "on",
    )
    tokens = population.poster_tokens(scenario.posters)
    if target.urls:
        group = target_gateways(list(target.urls), list(target.pids))
        per_user = scenario.rate / scenario.posters
        if per_user > 5 / 30:
            notes.append(
                f"each poster sends {per_user:.2f}/s; the product limit is 5 per 30 s "
                "per stream unless the target raised LC_RATE_*"
            )
    else:
        group = start_gateways(
            scenario.target,
            scenario.gateways,
            database_url=population.database_url(),
            redis_url=target.redis_url or settings.REDIS_URL,
            raise_limits=target.raise_limits,
            log_dir=target.log_dir,
            server=scenario.server,
            extra_env=dict(scenario.gateway_env),
        )
    notes.extend(group.notes)
    out.write(
        f"[{scenario.target}] stream {stream_id}, {len(group.urls)} gateway(s), "
        f"{scenario.viewers} viewers + {scenario.posters} posters in "
        f"{scenario.processes()} client process(es), {scenario.rate}/s for "
        f"{scenario.duration:g} s\n"
    )
    for note in notes:
        out.write(f"[{scenario.target}] note: {note}\n")
    try:
        figures = _drive(scenario, group, run_id, stream_id, tokens, out, target.profile_dir)
        during_run = group.log_problems()
    finally:
        group.stop()
    # Kept apart: an error while serving viewers matters more than one while shutting down.
    figures["comments"]["stored"] = (
        NOT_STORED if scenario.target == FLOOR else population.stored_comments(stream_id)
    )
    if scenario.rules:
        # What the rules caught of the benchmark's posts: meant to be nothing, so that
        # delivery compares with a run without them.
        figures["comments"]["held"] = population.held_comments(stream_id)
    figures["gateway_log_problems"] = during_run[:20]
    figures["gateway_shutdown_problems"] = group.log_problems()[len(during_run) :][:20]
    for problem in during_run[:5]:
        out.write(f"[{scenario.target}] gateway log: {problem}\n")
    figures.update(
        target=scenario.target,
        scenario=asdict(scenario)
        | {
            "server": EXTERNAL if target.urls else scenario.server,
            "urls": group.urls,
            "stream_id": stream_id,
            "client_processes": scenario.processes(),
            "delivery_policy": os.environ.get("LC_DELIVERY_POLICY") or "seed",
        },
        notes=notes,
        started_at=datetime.fromtimestamp(started, UTC).isoformat(),
        wall_s=round(time.time() - started, 1),
    )
    return figures


def _drive(
    scenario: Scenario,
    group: GatewayGroup,
    run_id: str,
    stream_id: int,
    tokens: list[str],
    out,
    profile_dir: Path | None,
) -> dict:
    progress = Progress(out)
    context = multiprocessing.get_context("spawn")
    processes = scenario.processes()
    counters = context.Array("q", processes * clients.SLOTS, lock=False)
    start_at = context.Value("d", 0.0, lock=False)
    stop = context.Event()
    results = context.Queue()
    # The hard stop of every worker, whatever the coordinator does.
    deadline = time.time() + scenario.connect_timeout + scenario.duration + scenario.drain + 30
    plans = _plans(scenario, run_id, stream_id, group.urls, tokens, deadline)
    gateway_cpu = _CpuMeter(group.processes())
    open_viewers = context.Event()
    workers = [
        context.Process(
            target=clients.worker_main,
            args=(plan, counters, open_viewers, start_at, stop, results),
            daemon=True,
        )
        for plan in plans
    ]
    for worker in workers:
        worker.start()
    loadgen_cpu = _CpuMeter([psutil.Process(w.pid) for w in workers])

    def total(slot: int) -> int:
        return sum(counters[i * clients.SLOTS + slot] for i in range(processes))

    def wait_joined(slot: int, expected: int, what: str) -> None:
        deadline = time.time() + scenario.connect_timeout
        while time.time() < deadline:
            joined, failed = total(slot), total(clients.FAILED) + total(clients.CLOSED)
            progress.show(
                f"[{scenario.target}] {what}: {joined}/{expected} joined, {failed} failed"
            )
            if joined + failed >= expected or not all(w.is_alive() for w in workers):
                return
            time.sleep(0.5)

    # Phase 1: posters join first and warm the gateways up; the memory the viewers add
    # after that is the cost of a socket. Posting starts once everyone has joined.
    wait_joined(clients.POSTERS_JOINED, scenario.posters, "posters connecting")
    time.sleep(1)
    readings = Readings(
        rss_warm=group.rss_bytes(), gateway_cpu_seconds=0.0 if gateway_cpu.processes else None
    )
    open_viewers.set()
    wait_joined(clients.JOINED, scenario.viewers, "viewers connecting")
    time.sleep(1)
    viewers_joined = total(clients.JOINED)
    readings.rss_connected = group.rss_bytes()
    gateway_cpu.delta()
    loadgen_cpu.delta()

    # Phase 2: posting, then the drain until every viewer has every accepted comment.
    start = time.time() + 0.5
    start_at.value = start
    posting_end = start + scenario.duration
    drain_end = posting_end + scenario.drain
    readings.rss_max = readings.rss_connected or 0
    recordings = _start_profiles(scenario, group, run_id, profile_dir)
    psutil.cpu_percent()  # starts the machine-wide reading
    last_tick, last_delivered, stalled_for = time.time(), 0, 0
    while time.time() < drain_end:
        time.sleep(1)
        now = time.time()
        elapsed = now - last_tick
        last_tick = now
        spent = gateway_cpu.delta()
        if readings.gateway_cpu_seconds is not None:
            readings.gateway_cpu_seconds += spent
        cpu = 100 * spent / elapsed
        loadgen = 100 * loadgen_cpu.delta() / elapsed
        if now <= posting_end + 1:
            readings.gateway_cpu.append(cpu)
            readings.loadgen_cpu.append(loadgen)
            # What else ran (database, Redis, other jobs): two cores are easily shared.
            machine = psutil.cpu_percent() * psutil.cpu_count()
            readings.other_cpu.append(max(0.0, machine - cpu - loadgen))
        rss = group.rss_bytes()
        readings.rss_max = max(readings.rss_max, rss or 0)
        sent, acked, accepted = total(clients.SENT), total(clients.ACKED), total(clients.ACCEPTED)
        delivered = total(clients.DELIVERED)
        phase = "posting" if now < posting_end else "draining"
        progress.show(
            f"[{scenario.target}] {phase} t={now - start:5.1f}s sent {sent} acked {acked} "
            f"accepted {accepted} delivered {delivered}/{accepted * viewers_joined} "
            f"({(delivered - last_delivered) / elapsed:,.0f}/s) gateway cpu {cpu:.0f}% "
            f"rss {(rss or 0) / 2**20:.0f} MB, generator cpu {loadgen:.0f}%"
        )
        finished_posting = now >= posting_end and sent >= scenario.planned_comments
        if finished_posting and acked >= sent and delivered >= accepted * viewers_joined:
            break
        # A layer that dropped comments never completes: stop once deliveries have stalled.
        stalled_for = stalled_for + 1 if delivered == last_delivered and finished_posting else 0
        last_delivered = delivered
        if stalled_for >= 3 and acked >= sent:
            break
        if group.dead():
            progress.show(f"[{scenario.target}] gateway died: {', '.join(group.dead())}")
            break
    progress.done()
    profiles = _finish_profiles(scenario, recordings, out)
    stop.set()
    worker_results = []
    for _ in workers:
        try:
            worker_results.append(results.get(timeout=60))
        except Exception:  # queue.Empty: a worker that hangs must not hang the benchmark
            break
    for worker in workers:
        worker.join(10)
        if worker.is_alive():
            worker.terminate()
    crashes = [r["crash"] for r in worker_results if "crash" in r]
    if crashes or len(worker_results) < len(workers):
        raise RuntimeError(f"load generator failed: {crashes or 'a worker returned nothing'}")
    return _figures(scenario, worker_results, start, readings, total) | {"profiles": profiles}


def _start_profiles(
    scenario: Scenario, group: GatewayGroup, run_id: str, profile_dir: Path | None
) -> list[profile.Recording]:
    """py-spy on each gateway for the posting phase (it starts half a second from now)."""
    if profile_dir is None:
        return []
    profile_dir.mkdir(parents=True, exist_ok=True)
    name = f"{scenario.target}-{scenario.server}-{scenario.viewers}v-{scenario.rate:g}cps-{run_id}"
    return [
        profile.record(process.pid, scenario.duration, profile_dir / f"{name}-gateway{index}")
        for index, process in enumerate(group.processes())
    ]


def _finish_profiles(scenario: Scenario, recordings: list[profile.Recording], out) -> list[dict]:
    found = []
    for recording in recordings:
        shares = recording.finish(timeout=30)
        found.append({"flamegraph": str(recording.flamegraph), "split": shares})
        out.write(f"[{scenario.target}] profile: {recording.flamegraph}\n")
        for step, share in shares.items():
            out.write(f"[{scenario.target}]   {100 * share:5.1f} %  {step}\n")
    return found


def _figures(scenario, worker_results, start, readings: Readings, total) -> dict:
    import numpy as np

    planned = scenario.planned_comments
    accepted = np.zeros(planned, dtype=bool)
    for result in worker_results:
        accepted |= np.unpackbits(
            np.frombuffer(result["accepted"], np.uint8), bitorder="little", count=planned
        ).astype(bool)
    accepted_count = int(accepted.sum())
    viewer_bits = []
    for result in worker_results:
        if result["viewers_joined"]:
            raw = np.frombuffer(result["viewer_bitmaps"], np.uint8)
            bits = np.unpackbits(raw, bitorder="little").reshape(result["viewers_joined"], -1)
            viewer_bits.append(bits[:, :planned].astype(bool))
    # What reached any viewer: every accepted comment, unless a sampling tier thinned the feed.
    published = np.zeros(planned, dtype=bool)
    for bits in viewer_bits:
        published |= bits.any(axis=0)
    published &= accepted
    published_count = int(published.sum())
    fractions, of_published, delivered_pairs, unexpected = [], [], 0, 0
    for bits in viewer_bits:
        got = (bits & accepted).sum(axis=1)
        delivered_pairs += int(got.sum())
        unexpected += int((bits & ~accepted).sum())
        fractions.extend((got / accepted_count).tolist() if accepted_count else [])
        of_published.extend((got / published_count).tolist() if published_count else [])

    def merged(name: str) -> dict[int, int]:
        histogram: dict[int, int] = {}
        for result in worker_results:
            for value, count in result[name].items():
                histogram[value] = histogram.get(value, 0) + count
        return histogram

    def summed(name: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in worker_results:
            for key, count in result[name].items():
                counts[key] = counts.get(key, 0) + count
        return counts

    last_delivery = max((r["last_delivery"] for r in worker_results), default=0)
    delivery_window = max(scenario.duration, last_delivery - start)
    viewers_joined = total(clients.JOINED)
    memory_per_socket = None
    rss_warm, rss_connected, rss_max = readings.rss_warm, readings.rss_connected, readings.rss_max
    if rss_warm is not None and rss_connected is not None and viewers_joined:
        memory_per_socket = round((rss_connected - rss_warm) / viewers_joined / 1024, 1)
    mb = 2**20
    cpu_seconds = readings.gateway_cpu_seconds
    return {
        "latency_ms": report.percentiles(merged("latency_ms")),
        "ack_latency_ms": report.percentiles(merged("ack_ms")),
        "delivery": {
            "viewers_joined": sum(r["viewers_joined"] for r in worker_results),
            "expected_pairs": accepted_count * len(fractions),
            "delivered_pairs": delivered_pairs,
            "fraction_min": round(min(fractions), 4) if fractions else None,
            "fraction_mean": round(sum(fractions) / len(fractions), 4) if fractions else None,
            "viewers_complete": sum(1 for f in fractions if f >= 1.0),
            "published": published_count,
            "published_fraction_min": round(min(of_published), 4) if of_published else None,
            "duplicates": sum(r["duplicates"] for r in worker_results),
            "unexpected": unexpected,
            # Live batch frames a viewer read per second: the fan-out's unit of work.
            "frames_per_viewer_s": round(
                sum(r["viewer_frames"] for r in worker_results) / len(fractions) / delivery_window,
                2,
            )
            if fractions
            else None,
        },
        "comments": {
            "planned": planned,
            "sent": total(clients.SENT),
            "acked": total(clients.ACKED),
            "accepted": accepted_count,
            "unacked": sum(r["unacked"] for r in worker_results),
            "send_failures": sum(r["send_failures"] for r in worker_results),
            "refusals": summed("refusals"),
            "errors": summed("errors"),
        },
        "sockets": {
            "planned": scenario.viewers + scenario.posters,
            "joined": viewers_joined + total(clients.POSTERS_JOINED),
            "failed": total(clients.FAILED),
            "closed_during_run": total(clients.CLOSED),
        },
        "throughput": {
            "deliveries_per_s": round(delivered_pairs / delivery_window, 1),
            "accepted_per_s": round(accepted_count / scenario.duration, 1),
        },
        "gateway": {
            "cpu_percent_mean": _mean(readings.gateway_cpu),
            "cpu_percent_max": round(max(readings.gateway_cpu), 1)
            if readings.gateway_cpu
            else None,
            "rss_warm_mb": round(rss_warm / mb, 1) if rss_warm else None,
            "rss_connected_mb": round(rss_connected / mb, 1) if rss_connected else None,
            "rss_max_mb": round(rss_max / mb, 1) if rss_max else None,
            "memory_per_socket_kb": memory_per_socket,
            "cpu_seconds": cpu_seconds if cpu_seconds is None else round(cpu_seconds, 2),
            # The cost of the fan-out whatever the scale: comparable between targets and sizes.
            # psutil counts in 10 ms ticks: a tiny run on the floor may read 0.
            "cpu_s_per_million_deliveries": round(cpu_seconds / delivered_pairs * 1e6, 2)
            if delivered_pairs and cpu_seconds is not None
            else None,
        },
        "loadgen": {
            "cpu_percent_mean": _mean(readings.loadgen_cpu),
            "send_lag_max_ms": max(r["send_lag_max_ms"] for r in worker_results),
        },
        "machine": {
            "cpu_count": psutil.cpu_count(),
            "other_cpu_percent_mean": _mean(readings.other_cpu),
        },
    }


def _mean(samples: list[float]) -> float | None:
    return round(sum(samples) / len(samples), 1) if samples else None


def run_all(
    scenarios: list[Scenario], target: Target, repeat: int, results_dir: Path, out=sys.stdout
) -> tuple[list[dict], Path]:
    """Run every scenario `repeat` times (targets interleaved), print the table, write JSON."""
    runs = []
    for _ in range(repeat):
        for scenario in scenarios:
            runs.append(run_scenario(scenario, target, out))
            if len(scenarios) * repeat > 1:
                out.write(report.table(report.summarise(runs[-1:])) + "\n\n")
    path = report.write_json(runs, results_dir)
    out.write(report.table(report.summarise(runs)) + "\n")
    out.write(f"figures written to {path}\n")
    return runs, path
