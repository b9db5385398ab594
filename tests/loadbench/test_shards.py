"""Several streams over two real Redis shards: each stream counted apart, each shard's work read.

No timing assertions: what is checked is that the streams are spread, that every viewer
gets its own stream's comments and no other's, and that each shard reports its commands.
"""

import io

import pytest
from django.db import connection

from loadbench import report
from loadbench.runner import Scenario, Target, run_scenario
from tests.redis_servers import missing_binaries, running

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(missing_binaries() is not None, reason=str(missing_binaries())),
]


@pytest.fixture
def shards_url():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark's gateways need PostgreSQL")
    with running() as started:
        yield ",".join(started.server().url for _ in range(2))


def test_streams_spread_over_the_shards_and_each_gets_its_own_comments(tmp_path, shards_url):
    scenario = Scenario(
        target="ours",
        viewers=8,
        posters=4,
        rate=4,
        duration=3,
        gateways=2,
        streams=2,
        client_processes=2,
        drain=8,
    )
    out = io.StringIO()

    figures = run_scenario(scenario, Target(redis_url=shards_url, log_dir=tmp_path), out)

    streams = figures["streams"]
    assert sorted(s["shard"] for s in streams) == [0, 1]
    for stream in streams:
        assert stream["delivery"]["viewers_joined"] == 4
        assert stream["comments"]["accepted"] == stream["comments"]["stored"] == 6
        assert stream["delivery"]["fraction_min"] == 1.0
        # A viewer given the other stream's comments would count them here.
        assert stream["delivery"]["unexpected"] == 0
        assert stream["latency_ms"]["count"] == 4 * 6
    assert figures["comments"]["accepted"] == figures["comments"]["stored"] == 12
    assert figures["delivery"]["delivered_pairs"] == 8 * 6
    assert figures["gateway_log_problems"] == []
    by_shard = {server["shard"]: server for server in figures["redis"]}
    for stream in streams:
        shard = by_shard[stream["shard"]]
        assert shard["streams"] == [stream["stream_id"]]
        # Each shard published its own stream's batches while the posters posted.
        assert shard["top_commands"].get("publish", 0) > 0
    table = report.streams_table(figures)
    assert all(server["server"] in table for server in figures["redis"])
    assert "x2 2 streams" in report.setup_label(figures)
