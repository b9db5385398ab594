"""The comments table's weekly partitions on PostgreSQL (comments.partitions)."""

import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from comments import partitions, writer
from comments.selectors import newest_visible
from livecomments.servers import gateway_command
from tests.comments.stored import store_comments
from tests.gateways import PROJECT_ROOT, free_port, gateway_database_url
from tests.posts import writer_post

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL's comments table is partitioned"
)


def comments_in(week: partitions.Week, stream, author, count: int) -> list[int]:
    """Store `count` comments made during `week`."""
    at = week.starts_at + timedelta(hours=1)
    return [row.id for row in store_comments(stream, author, count, at=at)]


def plan_of(sql: str, *, analyze: bool = False) -> dict:
    options = "ANALYZE, TIMING OFF, SUMMARY OFF, FORMAT JSON" if analyze else "FORMAT JSON"
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}) {sql}")
        (raw,) = cursor.fetchone()
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def scanned(plan: dict, *, executed_only: bool = False) -> set[str]:
    """The partitions a plan reads (with ANALYZE and executed_only: those it really read)."""
    found = set()
    relation = plan.get("Relation Name", "")
    ran = not executed_only or plan.get("Actual Loops", 1) > 0
    if relation.startswith(partitions.TABLE) and ran:
        found.add(relation)
    for child in plan.get("Plans", []):
        found |= scanned(child, executed_only=executed_only)
    return found


def comment_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if 'FROM "comments_comment"' in q["sql"]]


@pytest.fixture
def weeks():
    """This week and the next three: the partitions the migration made."""
    weeks = [partitions.Week.of(timezone.now())]
    for _ in range(3):
        weeks.append(weeks[-1].next())
    return weeks


def test_the_command_creates_the_coming_weeks_once(db):
    later = datetime(2027, 3, 10, 12, tzinfo=UTC)  # a Wednesday
    created = partitions.create_ahead(3, now=later)
    assert created == [
        "comments_comment_w20270308",
        "comments_comment_w20270315",
        "comments_comment_w20270322",
        "comments_comment_w20270329",
    ]
    assert partitions.create_ahead(3, now=later) == []
    march = {p.name: p for p in partitions.attached()}
    week = partitions.Week.of(later)
    assert (march[week.name].low, march[week.name].high) == (week.first_id, week.end_id)
    # Each week starts where the one before it ends: no id falls between two partitions.
    assert march["comments_comment_w20270315"].low == march["comments_comment_w20270308"].high


def test_the_command_reports_until_when_comments_can_be_stored(db, capsys):
    call_command("comment_partitions", "--ahead", "5")
    out = capsys.readouterr().out
    last = partitions.Week.of(timezone.now())
    for _ in range(5):
        last = last.next()
    assert f"Created {last.name}." in out
    assert f"Comments can be stored until {last.ends_at:%Y-%m-%d}" in out


def test_it_rejects_a_negative_ahead(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="0 or more"):
        call_command("comment_partitions", "--ahead", "-1")


def test_a_post_in_a_week_without_a_partition_is_refused_not_stored(db, alice, stream):
    this_week = partitions.Week.of(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{partitions.TABLE}" DETACH PARTITION "{this_week.name}"')
    assert partitions.missing_now() is not None
    with pytest.raises(Exception, match="no partition of relation"):
        writer.store_posts([writer_post(alice, stream.id)])


@pytest.mark.django_db(transaction=True)
def test_a_gateway_refuses_to_start_without_this_weeks_partition(tmp_path):
    this_week = partitions.Week.of(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{partitions.TABLE}" DETACH PARTITION "{this_week.name}"')
    try:
        done = subprocess.run(
            gateway_command("daphne", "127.0.0.1", free_port()),
            cwd=PROJECT_ROOT,
            env={
                "PATH": "/usr/bin:/bin",
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "DATABASE_URL": gateway_database_url(),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f'ALTER TABLE "{partitions.TABLE}" ATTACH PARTITION "{this_week.name}"'
                f" FOR VALUES FROM ({this_week.first_id}) TO ({this_week.end_id})"
            )
    assert done.returncode != 0
    assert "livecomments gateway not started" in done.stderr
    assert "manage.py comment_partitions --ahead 3" in done.stderr


def test_resume_reads_only_the_partitions_after_the_last_seen_comment(db, weeks, stream, alice):
    for week in weeks[:3]:
        last_seen = comments_in(week, stream, alice, 3)[-1]
    with CaptureQueriesContext(connection) as queries:
        assert len(newest_visible(stream.id, 1000, after_id=last_seen)) == 0
    (sql,) = comment_queries(queries)
    # Pruned when planned: the bound on id rules out every earlier week.
    assert scanned(plan_of(sql)) == {weeks[2].name, weeks[3].name}


def test_the_rest_cursor_reads_only_the_partitions_after_it(db, weeks, stream, alice):
    cursor = None
    for week in weeks[:3]:
        cursor = comments_in(week, stream, alice, 3)[0]
    with CaptureQueriesContext(connection) as queries:
        response = APIClient().get(f"/api/streams/{stream.id}/comments/?after={cursor}")
    assert response.status_code == 200
    assert len(response.json()["comments"]) == 2
    (sql,) = comment_queries(queries)
    assert scanned(plan_of(sql)) == {weeks[2].name, weeks[3].name}


def test_a_fresh_join_reads_back_only_as_far_as_the_newest_fifty(db, weeks, stream, alice):
    for week in weeks[:3]:
        comments_in(week, stream, alice, 60)
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{partitions.TABLE}"')
    with CaptureQueriesContext(connection) as queries:
        assert len(newest_visible(stream.id, 50)) == 50
    (sql,) = comment_queries(queries)
    # Nothing bounds the id, so every partition is planned; but the partitions are read
    # newest first, in id order, and the reading stops at 50: the next (still empty) week
    # and the one with the newest fifty are read, the older weeks never.
    executed = scanned(plan_of(sql, analyze=True), executed_only=True)
    assert executed == {weeks[3].name, weeks[2].name}
