"""manage.py after_commit_bench: the gateway's real after-commit work, timed in process."""

import io

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command

from loadbench.after_commit import STREAM_ID

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_runs_the_after_commit_work_and_reports_cpu_per_flush_size():
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    out = io.StringIO()
    call_command(
        "after_commit_bench", "--sizes", "1,3", "--flushes", "4", "--rounds", "2", stdout=out
    )

    lines = out.getvalue().splitlines()
    assert lines[0] == "after-commit CPU per flush, 4 flushes a round, medians of 2 rounds"
    assert [line.split(" post(s)")[0].strip() for line in lines[1:]] == ["1", "3"]
    # The work really ran: every comment (20 warm-up flushes a size, then the rounds')
    # reached the stream's recent-comments cache, and every key was marked published.
    cached = redis.Redis.from_url(settings.REDIS_URL).llen(f"recent:stream:{STREAM_ID}")
    assert cached == (20 + 2 * 4) * (1 + 3)
    assert redis.Redis.from_url(settings.REDIS_URL).zcard("idem:unpublished") == 0


def test_it_rejects_a_flush_of_no_posts():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("after_commit_bench", "--sizes", "0")
