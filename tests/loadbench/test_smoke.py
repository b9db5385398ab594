"""The benchmark's own smoke run: a few viewers for a few seconds, against a real gateway.

No timing assertions: a loaded CI machine may be slow, but it must not lose comments.
"""

import io
import json

import pytest

from comments.models import Comment
from loadbench import population, report, rules
from loadbench.gateways import start_gateways
from loadbench.runner import EXTERNAL, NOT_STORED, Scenario, Target, run_scenario
from moderation.models import BlockedTerm
from streams.models import Stream

pytestmark = pytest.mark.django_db(transaction=True)


def smoke_run(target_name: str, tmp_path, redis_url: str) -> tuple[dict, str]:
    scenario = Scenario(
        target=target_name, viewers=6, posters=2, rate=4, duration=3, client_processes=2, drain=8
    )
    out = io.StringIO()
    figures = run_scenario(scenario, Target(redis_url=redis_url, log_dir=tmp_path), out)
    return figures, out.getvalue()


@pytest.mark.parametrize("target_name", ["ours", "baseline", "floor"])
def test_every_viewer_receives_every_accepted_comment(target_name, tmp_path, benchmark_redis_url):
    figures, output = smoke_run(target_name, tmp_path, benchmark_redis_url)

    assert "posting t=" in output
    assert figures["comments"]["planned"] == 12
    assert figures["comments"]["accepted"] == 12
    # The floor keeps nothing, and says so.
    assert figures["comments"]["stored"] == (NOT_STORED if target_name == "floor" else 12)
    assert figures["comments"]["refusals"] == {}
    assert figures["delivery"]["viewers_joined"] == 6
    assert figures["delivery"]["fraction_min"] == 1.0
    assert figures["delivery"]["published"] == figures["comments"]["accepted"]
    assert figures["delivery"]["published_fraction_min"] == 1.0
    assert figures["delivery"]["delivered_pairs"] == 6 * 12
    assert figures["delivery"]["unexpected"] == 0
    assert figures["latency_ms"]["count"] == 6 * 12
    assert figures["gateway_log_problems"] == []


@pytest.mark.parametrize("target_name", ["ours", "floor"])
def test_figures_are_well_formed_and_serialisable(target_name, tmp_path, benchmark_redis_url):
    figures, _ = smoke_run(target_name, tmp_path, benchmark_redis_url)

    latency = figures["latency_ms"]
    assert 0 <= latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert figures["ack_latency_ms"]["count"] == figures["comments"]["acked"]
    assert figures["throughput"]["deliveries_per_s"] > 0
    assert figures["delivery"]["frames_per_viewer_s"] > 0
    assert figures["gateway"]["memory_per_socket_kb"] is not None
    assert figures["gateway"]["cpu_percent_mean"] >= 0
    assert figures["gateway"]["cpu_s_per_million_deliveries"] >= 0
    assert figures["gateway"]["join_s"] >= 0
    assert figures["gateway"]["cpu_ms_per_join"] >= 0
    path = report.write_json([figures], tmp_path / "results")
    written = json.loads(path.read_text())
    assert written["runs"][0]["scenario"]["viewers"] == 6
    assert "post→display p95 ms" in report.table(written["summary"])
    assert report.plot(written["summary"], tmp_path / "plot.png").stat().st_size > 0


def test_percentiles_use_the_nearest_rank():
    figures = report.percentiles({10: 50, 20: 45, 30: 4, 400: 1})

    assert (figures["p50"], figures["p95"], figures["p99"], figures["max"]) == (10, 20, 30, 400)
    assert figures["count"] == 100


def test_with_the_rules_on_every_post_is_delivered_and_none_is_held(tmp_path, benchmark_redis_url):
    scenario = Scenario(
        target="ours",
        viewers=4,
        posters=2,
        rate=4,
        duration=3,
        client_processes=1,
        drain=8,
        rules="on",
    )

    figures = run_scenario(scenario, Target(redis_url=benchmark_redis_url, log_dir=tmp_path))

    assert BlockedTerm.objects.filter(term__in=rules.TERMS).count() == 200
    assert Stream.objects.get(id=figures["scenario"]["stream_id"]).hold_links
    assert figures["comments"]["accepted"] == figures["comments"]["stored"] == 12
    assert (figures["comments"]["held"], figures["comments"]["refusals"]) == (0, {})
    assert figures["delivery"]["fraction_min"] == 1.0
    assert "rules on" in report.setup_label(figures)


def test_a_stream_with_history_counts_only_the_new_comments(tmp_path, benchmark_redis_url):
    # --history: the viewers join a busy stream (a full recent-comments cache to read).
    scenario = Scenario(
        target="ours", viewers=4, posters=2, rate=4, duration=3, client_processes=1, drain=8,
        history=1200,
    )  # fmt: skip

    figures = run_scenario(scenario, Target(redis_url=benchmark_redis_url, log_dir=tmp_path))

    assert Comment.objects.filter(stream_id=figures["scenario"]["stream_id"]).count() == 1212
    assert figures["comments"]["accepted"] == figures["comments"]["stored"] == 12
    assert figures["delivery"]["fraction_min"] == 1.0
    assert figures["delivery"]["unexpected"] == 0


def test_posters_apart_post_from_a_process_without_viewers(tmp_path, benchmark_redis_url):
    scenario = Scenario(
        target="floor", viewers=4, posters=2, rate=4, duration=3, client_processes=1, drain=8,
        posters_apart=True,
    )  # fmt: skip
    out = io.StringIO()

    figures = run_scenario(scenario, Target(redis_url=benchmark_redis_url, log_dir=tmp_path), out)

    assert "2 client process(es) (the posters apart)" in out.getvalue()
    assert figures["scenario"]["client_processes"] == 2
    assert figures["comments"]["accepted"] == figures["ack_latency_ms"]["count"] == 12
    assert figures["delivery"]["viewers_joined"] == 4
    assert figures["delivery"]["fraction_min"] == 1.0


def test_gateways_it_did_not_start_are_labelled_external(tmp_path, benchmark_redis_url):
    running = start_gateways(
        "ours",
        1,
        database_url=population.database_url(),
        redis_url=benchmark_redis_url,
        raise_limits=True,
        log_dir=tmp_path,
        server="uvicorn",
    )
    scenario = Scenario(
        target="ours", viewers=2, posters=2, rate=2, duration=2, client_processes=1, drain=8
    )
    try:
        figures = run_scenario(scenario, Target(urls=tuple(running.urls), log_dir=tmp_path))
    finally:
        running.stop()

    assert figures["comments"]["accepted"] == 4
    assert figures["delivery"]["fraction_min"] == 1.0
    assert figures["scenario"]["server"] == EXTERNAL
    assert report.setup_label(figures) == f"ours {EXTERNAL}"
    # Which Redis someone else's gateways use is not known: nothing is read from one.
    assert figures["redis"] == []
