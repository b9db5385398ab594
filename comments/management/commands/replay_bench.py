"""manage.py replay_bench: replay-window and moments timings of one stream (docs/performance.md)."""

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse

from comments.comment_seconds import recount, start_ms
from comments.models import CommentSecond
from comments.replay import MAX_WINDOW_MS, Window, _replay_window
from comments.state.revision import bump_replay_revision
from streams.models import Stream


def _figures(label: str, timings: list[tuple[float, float]]) -> str:
    """Wall time, and this process's CPU time (what a busy shared machine inflates least)."""
    wall = sorted(w * 1000 for w, _ in timings)
    cpu = sorted(c * 1000 for _, c in timings)
    return (
        f"{label:<24} n={len(wall):<4} wall p50 {statistics.median(wall):6.1f} "
        f"p95 {_p95(wall):6.1f} max {wall[-1]:6.1f} ms | cpu p50 {statistics.median(cpu):6.1f} "
        f"p95 {_p95(cpu):6.1f} ms"
    )


def _p95(ms: list[float]) -> float:
    return ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


def _timed(request: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    answer = request()
    return time.perf_counter() - wall, time.process_time() - cpu, answer


class Command(BaseCommand):
    help = (
        "Time GET /api/streams/<id>/replay/ over WINDOWS random windows of WINDOW_MS, cold (a "
        "new replay revision) and cached, and /moments/ cold, cached, and with no comments "
        "counted per second yet (the read counts them), through the whole Django and DRF stack "
        "in this process; print wall-time p50/p95/max and this process's CPU time (the "
        "database's own time is in wall time only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("stream_id", type=int)
        parser.add_argument("--windows", type=int, default=200)
        parser.add_argument("--window-ms", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=16)

    def handle(self, *args, stream_id: int, windows: int, window_ms: int, seed: int, **options):
        stream = Stream.objects.filter(id=stream_id).first()
        if stream is None or stream.ended_at is None:
            raise CommandError(f"No ended stream {stream_id} (make one with make_replay_stream).")
        if not 0 < window_ms <= MAX_WINDOW_MS or windows < 1:
            raise CommandError(f"--window-ms must be in 1..{MAX_WINDOW_MS}; --windows positive.")
        duration = int(stream.ended_at.timestamp() * 1000) - start_ms(stream)
        rng = random.Random(seed)
        # Aligned like the page's prefetch, so that viewers share cached windows.
        starts = [rng.randrange(0, duration // window_ms) * window_ms for _ in range(windows)]
        client = Client()
        url = reverse("api:replay", args=[stream_id])

        def window(from_ms: int) -> tuple[float, float, int]:
            wall, cpu, response = _timed(
                lambda: client.get(url, {"from": from_ms, "to": from_ms + window_ms})
            )
            assert response.status_code == 200, response.content[:200]
            return wall, cpu, len(response.json()["comments"])

        self._explain(stream, Window(starts[0], starts[0] + window_ms))
        window(starts[0])  # warm the connection and the code
        bump_replay_revision([stream_id])
        cold = [window(s) for s in starts]
        cached = [window(s) for s in starts]
        counts = [n for _, _, n in cold]
        self.stdout.write(
            f"stream {stream_id}: {duration / 3_600_000:.1f} h; {window_ms} ms windows hold "
            f"{statistics.mean(counts):.0f} comments on average, {max(counts)} at most "
            f"(a page is at most 1000)"
        )
        self.stdout.write(_figures("replay window, cold", [(w, c) for w, c, _ in cold]))
        self.stdout.write(_figures("replay window, cached", [(w, c) for w, c, _ in cached]))

        moments_url = reverse("api:moments", args=[stream_id])

        def moments() -> tuple[float, float]:
            wall, cpu, response = _timed(lambda: client.get(moments_url))
            assert response.status_code == 200
            return wall, cpu

        cold_moments = []
        for _ in range(5):
            bump_replay_revision([stream_id])
            cold_moments.append(moments())
        self.stdout.write(_figures("moments, cold", cold_moments))
        self.stdout.write(_figures("moments, cached", [moments() for _ in range(50)]))
        uncounted = []
        for _ in range(3):
            recount([stream_id])  # a new revision too; counted again by the read
            uncounted.append(moments())
        self.stdout.write(_figures("moments, none counted", uncounted))
        if connection.vendor == "postgresql":
            # The counts made and dropped again, gone as autovacuum would take them, so
            # that the next run's figures do not read them.
            with connection.cursor() as cursor:
                table = connection.ops.quote_name(CommentSecond._meta.db_table)
                cursor.execute(f"VACUUM ANALYZE {table}")

    def _explain(self, stream: Stream, window: Window) -> None:
        """Print the plan of a window's comment query: an index range scan on (stream, id)."""
        if connection.vendor != "postgresql":
            return
        from django.db import connection as db

        with db.execute_wrapper(self._explain_first_select):
            self._explained = False
            _replay_window(stream, window)

    def _explain_first_select(self, execute, sql, params, many, context):
        if not self._explained and "comments_comment" in sql:
            self._explained = True
            with context["connection"].cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, params)
                plan = [row[0] for row in cursor.fetchall()]
            self.stdout.write("plan: " + " / ".join(line.strip() for line in plan[:4]))
        return execute(sql, params, many, context)
