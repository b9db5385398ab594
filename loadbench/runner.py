"""Drive one scenario: rows, gateways, client processes, phases, and the figures."""

import multiprocessing
import os
import secrets
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
from django.conf import settings

from . import clients, population, profile, report, rules, shards
from .gateways import FLOOR, GatewayGroup, start_gateways, target_gateways


@dataclass(frozen=True)
class Scenario:
    target: str  # "ours", "baseline" or "floor" (gateways.TARGETS)
    viewers: int  # over all streams
    posters: int
    rate: float  # comments/s over all posters
    duration: float  # seconds of posting
    gateways: int = 1
    # Streams sharing the viewers, posters and comments evenly; each has client processes
    # of its own.
    streams: int = 1
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
    # Comments each stream already has when the viewers join (a busy stream's history, which
    # fills the recent-comments cache every fresh join reads).
    history: int = 0
    # Each stream's posters in a client process of their own, besides `client_processes`:
    # their acks are then timed by a loop that no burst of viewers' frames holds up.
    posters_apart: bool = False

    @property
    def planned_comments(self) -> int:
        return max(1, round(self.rate * self.duration))

    def processes(self) -> int:
        viewing = self.client_processes or max(
            self.streams, -(-(self.viewers + self.posters) // 1500)
        )
        return viewing + (self.streams if self.posters_apart else 0)


@dataclass(frozen=True)
class StreamShare:
    """One stream's part of a scenario: its sockets, processes and comment numbers."""

    stream_id: int
    viewers: int
    posters: int
    processes: int
    first_comment: int
    comments: int


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


def _create_streams(
    scenario: Scenario, run_id: str, placing: shards.RedisWatch | None
) -> list[int]:
    """The scenario's streams; on several Redis shards, spread over them as evenly as can be.

    Streams are drawn until no shard has more than its share, and the others deleted:
    consecutive ids land on the same shard in runs of about ten (channels-redis hashes the
    group's name), so the next few ids would all be on one.
    """
    title = f"loadbench {scenario.target} {scenario.viewers}v {scenario.rate}/s {run_id}"
    shard_count = len(placing.servers) if placing is not None else 1
    share = -(-scenario.streams // shard_count)
    on_shard: Counter[int] = Counter()
    kept: list[int] = []
    drawn: list[int] = []
    while len(kept) < scenario.streams:
        if len(drawn) > 100 * scenario.streams:
            raise RuntimeError(f"no spread of {scenario.streams} streams over the shards found")
        stream_id = population.create_stream(
            title if scenario.streams == 1 else f"{title} {len(kept) + 1}/{scenario.streams}",
            hold_links=scenario.rules == "on",
        )
        drawn.append(stream_id)
        shard = placing.shard_of_stream(stream_id) if placing is not None else 0
        if on_shard[shard] < share:
            on_shard[shard] += 1
            kept.append(stream_id)
    population.delete_streams(set(drawn) - set(kept))
    return kept


def _shares(scenario: Scenario, stream_ids: list[int]) -> list[StreamShare]:
    """Split the scenario's sockets, processes and comments evenly over its streams."""
    count = len(stream_ids)
    counts = zip(
        stream_ids,
        _split(scenario.viewers, count),
        _split(scenario.posters, count),
        _split(scenario.processes(), count),
        _split(scenario.planned_comments, count),
        strict=True,
    )
    shares, first = [], 0
    for stream_id, viewers, posters, processes, comments in counts:
        shares.append(StreamShare(stream_id, viewers, posters, processes, first, comments))
        first += comments
    return shares


def _plans(
    scenario: Scenario,
    run_id: str,
    shares: list[StreamShare],
    urls: list[str],
    tokens: list[str],
    deadline: float,
) -> list[clients.WorkerPlan]:
    """Each client process's sockets: every stream's viewers and posters spread over all
    gateways, as a balancer that knows nothing of streams would spread them."""
    plans: list[clients.WorkerPlan] = []
    viewer, poster = 0, 0
    for share in shares:
        if scenario.posters_apart:
            viewer_counts = [0, *_split(share.viewers, share.processes - 1)]
            poster_counts = [share.posters] + [0] * (share.processes - 1)
        else:
            viewer_counts = _split(share.viewers, share.processes)
            poster_counts = _split(share.posters, share.processes)
        # Each poster posts at the same pace, so a worker's share of comments follows its posters.
        comment_counts = [share.comments * p // share.posters for p in poster_counts]
        comment_counts[0] += share.comments - sum(comment_counts)
        if poster_counts[0] == 0:
            raise ValueError("the first client process has no posters; use fewer processes")
        comment = share.first_comment
        for v, p, c in zip(viewer_counts, poster_counts, comment_counts, strict=True):
            plans.append(
                clients.WorkerPlan(
                    index=len(plans),
                    run_id=run_id,
                    stream_id=str(share.stream_id),
                    viewer_urls=tuple(urls[(viewer + i) % len(urls)] for i in range(v)),
                    poster_urls=tuple(urls[(poster + i) % len(urls)] for i in range(p)),
                    poster_tokens=tuple(tokens[poster : poster + p]),
                    first_comment=comment,
                    comment_count=c if p else 0,
                    total_comments=scenario.planned_comments,
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
    # From the viewers' first connect to the last one's backfill (to half a second).
    join_seconds: float | None = None
    join_cpu_seconds: float | None = None  # the gateways', meanwhile


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
    if scenario.streams < 1 or min(scenario.posters, scenario.processes()) < scenario.streams:
        raise ValueError(
            f"{scenario.streams} stream(s) need at least as many posters and client processes"
        )
    started = time.time()
    run_id = secrets.token_hex(4)
    notes: list[str] = []
    if scenario.rules:
        other_terms = rules.install() if scenario.rules == "on" else rules.remove()
        if other_terms:
            notes.append(f"the database blocks {other_terms} other term(s), for every stream")
    # The Redis of the gateways, when the runner starts them and so knows it.
    redis_url = ""
    if not target.urls and scenario.target != FLOOR:
        redis_url = target.redis_url or settings.REDIS_URL
    watch = shards.RedisWatch(redis_url) if redis_url else None
    # Where our gateways put a stream; the baseline's core layer places its groups its own way.
    placing = watch if scenario.target == "ours" else None
    stream_ids = _create_streams(scenario, run_id, placing)
    for stream_id in stream_ids:
        population.add_history(stream_id, scenario.history)
    shares = _shares(scenario, stream_ids)
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
            redis_url=redis_url,
            raise_limits=target.raise_limits,
            log_dir=target.log_dir,
            server=scenario.server,
            extra_env=dict(scenario.gateway_env),
        )
    notes.extend(group.notes)
    if placing is not None and len(placing.servers) > 1:
        placed = ", ".join(f"{s} on shard {placing.shard_of_stream(s)}" for s in stream_ids)
    else:
        placed = ", ".join(map(str, stream_ids))
    out.write(
        f"[{scenario.target}] stream(s) {placed}, {len(group.urls)} gateway(s), "
        f"{scenario.viewers} viewers + {scenario.posters} posters in "
        f"{scenario.processes()} client process(es)"
        f"{' (the posters apart)' if scenario.posters_apart else ''}, {scenario.rate}/s for "
        f"{scenario.duration:g} s\n"
    )
    for note in notes:
        out.write(f"[{scenario.target}] note: {note}\n")
    try:
        figures = _drive(scenario, group, run_id, shares, tokens, out, target.profile_dir, watch)
        during_run = group.log_problems()
    finally:
        group.stop()
    for share, of_stream in zip(shares, figures["streams"], strict=True):
        of_stream["shard"] = placing.shard_of_stream(share.stream_id) if placing else None
        of_stream["comments"]["stored"] = (
            NOT_STORED
            if scenario.target == FLOOR
            else population.stored_comments(share.stream_id) - scenario.history
        )
        if scenario.rules:
            # What the rules caught of the benchmark's posts: meant to be nothing, so that
            # delivery compares with a run without them.
            of_stream["comments"]["held"] = population.held_comments(share.stream_id)
    for server in figures["redis"]:
        server["streams"] = [
            s["stream_id"] for s in figures["streams"] if s["shard"] == server["shard"]
        ]
    figures["comments"]["stored"] = (
        NOT_STORED
        if scenario.target == FLOOR
        else sum(s["comments"]["stored"] for s in figures["streams"])
    )
    if scenario.rules:
        figures["comments"]["held"] = sum(s["comments"]["held"] for s in figures["streams"])
    # Kept apart: an error while serving viewers matters more than one while shutting down.
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
            "stream_id": stream_ids[0],
            "stream_ids": stream_ids,
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
    shares: list[StreamShare],
    tokens: list[str],
    out,
    profile_dir: Path | None,
    watch: shards.RedisWatch | None,
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
    plans = _plans(scenario, run_id, shares, group.urls, tokens, deadline)
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
    gateway_cpu.delta()
    open_viewers.set()
    joining_since = time.monotonic()
    wait_joined(clients.JOINED, scenario.viewers, "viewers connecting")
    readings.join_seconds = time.monotonic() - joining_since
    readings.join_cpu_seconds = gateway_cpu.delta() if gateway_cpu.processes else None
    time.sleep(1)
    viewers_joined = total(clients.JOINED)
    readings.rss_connected = group.rss_bytes()
    gateway_cpu.delta()
    loadgen_cpu.delta()

    # Phase 2: posting, then the drain until every viewer has every accepted comment.
    if watch is not None:
        watch.start()
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
    redis_usage = watch.finish() if watch is not None else []
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
    return _figures(scenario, shares, worker_results, start, readings, total) | {
        "profiles": profiles,
        "redis": redis_usage,
    }


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
        working = 1 - shares.get(profile.WAITING, 0)
        for step, share in shares.items():
            if step != profile.WAITING:
                out.write(f"[{scenario.target}]   {100 * share / working:5.1f} %  {step}\n")
        out.write(
            f"[{scenario.target}]   (above: shares of the working samples; "
            f"{100 * (1 - working):.0f} % of all were {profile.WAITING})\n"
        )
    return found


def _figures(scenario, shares, worker_results, start, readings: Readings, total) -> dict:
    import numpy as np

    planned = scenario.planned_comments
    accepted = np.zeros(planned, dtype=bool)
    for result in worker_results:
        accepted |= np.unpackbits(
            np.frombuffer(result["accepted"], np.uint8), bitorder="little", count=planned
        ).astype(bool)
    # A stream's viewers are owed the accepted comments of their stream, and no others.
    owed = {}
    for share in shares:
        numbers = np.zeros(planned, dtype=bool)
        numbers[share.first_comment : share.first_comment + share.comments] = True
        owed[str(share.stream_id)] = accepted & numbers
    last_delivery = max((r["last_delivery"] for r in worker_results), default=0)
    window = (scenario.duration, max(scenario.duration, last_delivery - start))
    of_all = _delivery_figures(worker_results, owed, planned, window)
    of_all["comments"] = {
        "planned": planned,
        "sent": total(clients.SENT),
        "acked": total(clients.ACKED),
    } | of_all["comments"]
    of_all["streams"] = [
        {"stream_id": share.stream_id, "viewers": share.viewers, "posters": share.posters}
        | _delivery_figures(
            [r for r in worker_results if r["stream_id"] == str(share.stream_id)],
            owed,
            planned,
            window,
        )
        for share in shares
    ]
    for share, of_stream in zip(shares, of_all["streams"], strict=True):
        of_stream["comments"] = {"planned": share.comments} | of_stream["comments"]
    viewers_joined = total(clients.JOINED)
    memory_per_socket = None
    rss_warm, rss_connected, rss_max = readings.rss_warm, readings.rss_connected, readings.rss_max
    if rss_warm is not None and rss_connected is not None and viewers_joined:
        memory_per_socket = round((rss_connected - rss_warm) / viewers_joined / 1024, 1)
    mb = 2**20
    cpu_seconds = readings.gateway_cpu_seconds
    delivered_pairs = of_all["delivery"]["delivered_pairs"]
    return of_all | {
        "sockets": {
            "planned": scenario.viewers + scenario.posters,
            "joined": viewers_joined + total(clients.POSTERS_JOINED),
            "failed": total(clients.FAILED),
            "closed_during_run": total(clients.CLOSED),
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
            "join_s": None if readings.join_seconds is None else round(readings.join_seconds, 1),
            "cpu_ms_per_join": round(readings.join_cpu_seconds * 1000 / viewers_joined, 2)
            if readings.join_cpu_seconds is not None and viewers_joined
            else None,
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


def _delivery_figures(worker_results, owed: dict, planned: int, window) -> dict:
    """Latency, delivery, comments and throughput of these workers' streams and viewers,
    each viewer held to what `owed` says its stream accepted.

    `window`: (seconds of posting, seconds from the first post to the last delivery).
    """
    import numpy as np

    posting, delivering = window
    streams = {r["stream_id"] for r in worker_results}
    viewer_bits = []
    for result in worker_results:
        if result["viewers_joined"]:
            raw = np.frombuffer(result["viewer_bitmaps"], np.uint8)
            bits = np.unpackbits(raw, bitorder="little").reshape(result["viewers_joined"], -1)
            viewer_bits.append((result["stream_id"], bits[:, :planned].astype(bool)))
    # What reached any viewer: every accepted comment, unless a sampling tier thinned the feed.
    published = {stream: np.zeros(planned, dtype=bool) for stream in streams}
    for stream, bits in viewer_bits:
        published[stream] |= bits.any(axis=0) & owed[stream]
    fractions, of_published, delivered_pairs, expected_pairs, unexpected = [], [], 0, 0, 0
    for stream, bits in viewer_bits:
        accepted_count, published_count = int(owed[stream].sum()), int(published[stream].sum())
        got = (bits & owed[stream]).sum(axis=1)
        delivered_pairs += int(got.sum())
        expected_pairs += accepted_count * len(bits)
        unexpected += int((bits & ~owed[stream]).sum())
        fractions.extend((got / accepted_count).tolist() if accepted_count else [])
        of_published.extend((got / published_count).tolist() if published_count else [])
    accepted = sum(int(owed[stream].sum()) for stream in streams)

    def merged(name: str) -> dict:
        found: Counter = Counter()
        for result in worker_results:
            found.update(result[name])
        return dict(found)

    return {
        "latency_ms": report.percentiles(merged("latency_ms")),
        "ack_latency_ms": report.percentiles(merged("ack_ms")),
        "delivery": {
            "viewers_joined": sum(r["viewers_joined"] for r in worker_results),
            "expected_pairs": expected_pairs,
            "delivered_pairs": delivered_pairs,
            "fraction_min": round(min(fractions), 4) if fractions else None,
            "fraction_mean": round(sum(fractions) / len(fractions), 4) if fractions else None,
            "viewers_complete": sum(1 for f in fractions if f >= 1.0),
            "published": sum(int(p.sum()) for p in published.values()),
            "published_fraction_min": round(min(of_published), 4) if of_published else None,
            "duplicates": sum(r["duplicates"] for r in worker_results),
            "unexpected": unexpected,
            # Live batch frames a viewer read per second: the fan-out's unit of work.
            "frames_per_viewer_s": round(
                sum(r["viewer_frames"] for r in worker_results) / len(fractions) / delivering, 2
            )
            if fractions
            else None,
        },
        "comments": {
            "accepted": accepted,
            "unacked": sum(r["unacked"] for r in worker_results),
            "send_failures": sum(r["send_failures"] for r in worker_results),
            "refusals": merged("refusals"),
            "errors": merged("errors"),
        },
        "throughput": {
            "deliveries_per_s": round(delivered_pairs / delivering, 1),
            "accepted_per_s": round(accepted / posting, 1),
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
            if scenario.streams > 1 or len(runs[-1]["redis"]) > 1:
                out.write(report.streams_table(runs[-1]) + "\n\n")
            if len(scenarios) * repeat > 1:
                out.write(report.table(report.summarise(runs[-1:])) + "\n\n")
    path = report.write_json(runs, results_dir)
    out.write(report.table(report.summarise(runs)) + "\n")
    out.write(f"figures written to {path}\n")
    return runs, path
