"""manage.py round_trip_bench: one round trip to each peer after each gap, timed."""

import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_times_each_peer_after_each_gap():
    out = io.StringIO()
    call_command("round_trip_bench", "--gaps-ms", "0,2", "--trips", "3", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "one round trip after a quiet gap: process CPU / wall µs, medians of 3"
    assert lines[3] == "from an event loop (uvloop); a wakeup's wall time is its sleep"
    blocking, from_the_loop = lines[1:3], lines[4:]
    for rows in (blocking, from_the_loop):
        assert [row.split(":")[0].split() for row in rows] == [
            ["gap", "0", "ms"],
            ["gap", "2", "ms"],
        ]
    peers = ["PostgreSQL SELECT 1"] + (["Redis PING"] if settings.REDIS_URL else [])
    for row in blocking:
        assert all(peer in row for peer in peers), row
    on_the_loop = ["SELECT 1 on the loop"] if connection.vendor == "postgresql" else []
    for row in from_the_loop:
        assert all(call in row for call in ["SELECT 1 via the database thread", *on_the_loop])
    # No gap, no sleep to wake from.
    assert "wakeup" not in from_the_loop[0] and "wakeup" in from_the_loop[1]


def test_it_rejects_a_negative_gap():
    with pytest.raises(CommandError, match="no negative gap"):
        call_command("round_trip_bench", "--gaps-ms", "-1")
