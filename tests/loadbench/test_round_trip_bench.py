"""manage.py round_trip_bench: one round trip to each peer after each gap, timed."""

import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_it_times_each_peer_after_each_gap():
    out = io.StringIO()
    call_command("round_trip_bench", "--gaps-ms", "0,2", "--trips", "3", stdout=out)

    header, *rows = out.getvalue().splitlines()
    assert header == "one round trip after a quiet gap: process CPU / wall µs, medians of 3"
    assert [row.split(":")[0].split() for row in rows] == [["gap", "0", "ms"], ["gap", "2", "ms"]]
    peers = ["PostgreSQL SELECT 1"] + (["Redis PING"] if settings.REDIS_URL else [])
    for row in rows:
        assert all(peer in row for peer in peers), row


def test_it_rejects_a_negative_gap():
    with pytest.raises(CommandError, match="no negative gap"):
        call_command("round_trip_bench", "--gaps-ms", "-1")
