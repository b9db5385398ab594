"""The console under load, as a smoke run: 3 s at 10 comments/s against a real gateway, the
console in Chromium. It checks that the run completes and its figures are well formed;
no timing assertions (the figures are for docs/performance.md, not for CI's machine).
"""

import io
import json
from pathlib import Path

import pytest

from loadbench import console_soak
from loadbench.console_soak import CHROMIUM, ConsoleScenario, run_console_soak
from loadbench.runner import Target

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_console_shows_every_comment_and_reports_its_figures(tmp_path, benchmark_redis_url):
    pytest.importorskip("playwright.sync_api", reason="needs Playwright (the dev extra)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    scenario = ConsoleScenario(rate=10, duration=3, posters=4, drain=8)
    out = io.StringIO()

    figures = run_console_soak(
        scenario, Target(redis_url=benchmark_redis_url, log_dir=tmp_path), out
    )

    assert "posting t=" in out.getvalue()
    assert figures["page_errors"] == []
    assert figures["gateway_log_problems"] == []
    comments = figures["comments"]
    assert comments["planned"] == comments["sent"] == comments["accepted"] == 30
    assert comments["stored"] == 30
    assert figures["caught_up"]["last_comment_shown"]
    assert figures["rows"]["max"] == 30
    lag = figures["lag_ms"]
    assert lag["count"] > 0
    assert 0 <= lag["p50"] <= lag["p95"] <= lag["max"]
    assert figures["heap_mb"]["start"] > 0
    assert figures["heap_mb"]["end"] > 0
    assert figures["long_tasks"]["observer"] == "longtask"
    assert figures["long_tasks"]["count"] >= 0
    assert figures["long_tasks"]["total_ms"] >= 0
    assert figures["main_thread"]["task_ms"] > 0
    text = console_soak.summary(figures)
    for words in ("p50", "p95", "rows in the feed", "JS heap", "long tasks", "30 accepted"):
        assert words in text
    path = console_soak.write_json(figures, tmp_path / "results")
    assert json.loads(path.read_text())["lag_ms"] == figures["lag_ms"]
