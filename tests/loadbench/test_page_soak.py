"""The stream page under load (`loadbench --page`), as a smoke run: 3 s at 10 comments/s
against a real gateway, a signed-in viewer's page in Chromium. It checks that the run
completes and its figures are well formed; no timing assertions (the figures are for
docs/client.md, not for CI's machine).
"""

import io
import json
from pathlib import Path

import pytest

from loadbench import console_soak
from loadbench.console_soak import CHROMIUM, ConsoleScenario, run_console_soak
from loadbench.runner import Target

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_stream_page_shows_every_comment_and_reports_its_frames(tmp_path, benchmark_redis_url):
    pytest.importorskip("playwright.sync_api", reason="needs Playwright (the dev extra)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    scenario = ConsoleScenario(rate=10, duration=3, posters=4, drain=8, page="stream")
    out = io.StringIO()

    figures = run_console_soak(
        scenario, Target(redis_url=benchmark_redis_url, log_dir=tmp_path), out
    )

    assert "[stream] posting t=" in out.getvalue()
    assert figures["target"] == "stream"
    assert figures["page_errors"] == []
    assert figures["comments"]["accepted"] == figures["comments"]["stored"] == 30
    assert figures["caught_up"]["last_comment_shown"]
    assert figures["rows"]["max"] == 30
    frames = figures["frames"]
    assert frames["drawn"] > 0 and frames["dropped"] >= 0
    assert frames["longest_gap_ms"] > 0
    assert figures["dom_nodes"]["end"] > figures["dom_nodes"]["start"]
    text = console_soak.summary(figures)
    for words in ("stream lag", "animation frames", "dropped", "JS heap", "long tasks"):
        assert words in text
    path = console_soak.write_json(figures, tmp_path / "results")
    assert path.name.startswith("stream-")
    assert json.loads(path.read_text())["frames"] == frames


def test_a_soak_names_only_pages_it_knows():
    with pytest.raises(ValueError, match="no page 'admin'"):
        ConsoleScenario(page="admin")
