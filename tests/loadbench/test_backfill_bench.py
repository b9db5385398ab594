"""manage.py backfill_bench: a fresh join's backfill read from a full cache, in process."""

import io

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command

from comments.state.recent import CAPACITY
from loadbench.after_commit import STREAM_ID


def test_it_reads_a_full_cache_and_reports_cpu_per_join():
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    out = io.StringIO()
    call_command("backfill_bench", "--joins", "3", "--rounds", "2", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == (
        f"backfill read CPU per join, cache full ({2 * CAPACITY} comments), 3 joins a round, "
        "medians of 2 rounds"
    )
    assert [line.split("  ")[1] for line in lines[1:]] == ["unchanged", "a flush between joins"]
    # The cache was filled to its bound, and the flushes between joins kept it there.
    assert redis.Redis.from_url(settings.REDIS_URL).llen(f"recent:stream:{STREAM_ID}") == (
        2 * CAPACITY
    )


def test_it_rejects_no_joins():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("backfill_bench", "--joins", "0")
