"""Retention (comments.retention): archive old weeks, check the archive, drop, restore."""

import gzip
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from comments import partitions, retention
from comments.comment_seconds import count_settled, start_ms
from comments.models import Comment, CommentSecond, ReactionTotal
from moderation.models import Report
from tests.comments.stored import store_comments

pytestmark = pytest.mark.django_db


def comments_in(week: partitions.Week, stream, author, count: int) -> list[Comment]:
    return store_comments(stream, author, count, at=week.starts_at + timedelta(hours=1))


@pytest.fixture
def weeks():
    """Next week (to expire) and the one after (to keep); this week's partitions hold them."""
    this_week = partitions.Week.of(timezone.now())
    return this_week.next(), this_week.next().next()


@pytest.fixture
def later(weeks):
    """A day when next week is more than 7 days old and the one after is not."""
    return weeks[1].ends_at + timedelta(days=3)


@pytest.fixture
def old_and_new(weeks, stream, alice, bob):
    old = comments_in(weeks[0], stream, alice, 5)
    new = comments_in(weeks[1], stream, alice, 3)
    reply = new[0]
    reply.parent = old[0]
    reply.save(update_fields=["parent"])
    Report.objects.create(comment=old[1], reporter=bob, reason="spam")
    ReactionTotal.objects.create(stream=stream, comment=old[2], reaction_type="like", count=4)
    return old, new


def the_week(weeks, later) -> retention.Period:
    (period,) = [p for p in retention.expired(7, now=later) if p.name == weeks[0].name]
    return period


def test_it_archives_an_expired_week_then_drops_it(weeks, later, old_and_new, tmp_path):
    old, new = old_and_new
    done = retention.apply(the_week(weeks, later), tmp_path)
    assert done.rows == 5 and done.archived_now
    assert done.archive == tmp_path / f"{weeks[0].name}.jsonl.gz"
    archived = list(retention.read(done.archive))
    assert [row["id"] for row in archived] == [c.id for c in old]
    assert archived[0]["content"] == old[0].content
    assert archived[0]["created_at"] == old[0].created_at
    assert list(Comment.objects.order_by("id").values_list("id", flat=True)) == [c.id for c in new]
    # What pointed at the dropped comments followed its on_delete.
    assert Comment.objects.get(id=new[0].id).parent_id is None
    assert not Report.objects.exists()
    assert not ReactionTotal.objects.filter(comment__isnull=False).exists()
    if partitions.is_partitioned():
        assert weeks[0].name not in {p.name for p in partitions.attached()}


def test_a_restore_puts_the_archived_comments_back_once(weeks, later, old_and_new, tmp_path):
    old, _ = old_and_new
    expected = list(Comment.objects.filter(id__in=[c.id for c in old]).order_by("id").values())
    done = retention.apply(the_week(weeks, later), tmp_path)
    assert retention.restore(done.archive) == retention.Restored(inserted=5, present=0, skipped=0)
    assert retention.restore(done.archive) == retention.Restored(inserted=0, present=5, skipped=0)
    restored = list(Comment.objects.filter(id__in=[c.id for c in old]).order_by("id").values())
    assert restored == expected
    if partitions.is_partitioned():
        assert weeks[0].name in {p.name for p in partitions.attached()}


def test_a_dropped_or_restored_week_has_its_streams_counted_again(
    weeks, later, old_and_new, stream, tmp_path
):
    def counted_for_the_moments():
        with transaction.atomic():
            count_settled(stream.id, start_ms(stream), int(later.timestamp() * 1000), wait=True)
        return sum(CommentSecond.objects.filter(stream=stream).values_list("count", flat=True))

    assert counted_for_the_moments() == 8
    done = retention.apply(the_week(weeks, later), tmp_path)
    assert counted_for_the_moments() == 3
    retention.restore(done.archive)
    assert counted_for_the_moments() == 8


def test_the_restore_command_reports_what_it_did(weeks, later, old_and_new, tmp_path, capsys):
    done = retention.apply(the_week(weeks, later), tmp_path)
    call_command("restore_comments", str(done.archive))
    assert f"{done.archive}: restored 5 comments, 0 were there." in capsys.readouterr().out


def test_a_dry_run_archives_and_drops_nothing(weeks, later, old_and_new, tmp_path):
    done = retention.apply(the_week(weeks, later), tmp_path, dry_run=True)
    assert (done.rows, done.archived_now) == (5, True)
    assert list(tmp_path.iterdir()) == []
    assert Comment.objects.count() == 8
    assert Report.objects.count() == 1


def test_it_refuses_to_drop_a_week_its_archive_does_not_match(weeks, later, old_and_new, tmp_path):
    path = the_week(weeks, later).archive_in(tmp_path)
    # An archive of an earlier run that has lost a line (or a week that gained one since).
    with gzip.open(path, "wt") as short:
        short.write('{"id": 1}\n' * 4)
    with pytest.raises(retention.ArchiveMismatch, match=r"holds 4 comments .* has 5: not dropping"):
        retention.apply(the_week(weeks, later), tmp_path)
    assert Comment.objects.count() == 8
    assert Report.objects.count() == 1


def test_it_refuses_to_drop_a_week_whose_archive_is_corrupt(weeks, later, old_and_new, tmp_path):
    path = the_week(weeks, later).archive_in(tmp_path)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(retention.ArchiveMismatch, match="cannot be read back"):
        retention.apply(the_week(weeks, later), tmp_path)
    assert Comment.objects.count() == 8


def test_the_command_drops_nothing_younger_than_the_days_kept(old_and_new, tmp_path, capsys):
    # Nothing is older than a day yet: the command archives and drops nothing.
    call_command("retention", "--days", "1", "--archive-dir", str(tmp_path))
    assert Comment.objects.count() == 8
    assert list(tmp_path.glob(f"{partitions.TABLE}_w*")) == []


@pytest.mark.parametrize("days", ["0", "-5"])
def test_the_command_rejects_days_below_one(days, tmp_path):
    with pytest.raises(CommandError, match="--days must be 1 or more"):
        call_command("retention", "--days", days, "--archive-dir", str(tmp_path))


def test_the_command_keeps_everything_when_retention_is_not_set(settings, tmp_path, capsys):
    settings.LC_RETENTION_DAYS = None
    call_command("retention", "--archive-dir", str(tmp_path))
    assert "every comment is kept" in capsys.readouterr().out


def test_the_restore_command_rejects_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("restore_comments", str(tmp_path / "nope.jsonl.gz"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")
def test_a_dropped_week_is_gone_from_the_table_not_deleted_row_by_row(
    weeks, later, old_and_new, tmp_path
):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        retention.apply(the_week(weeks, later), tmp_path)
    statements = [q["sql"] for q in queries]
    assert f'DETACH PARTITION "{weeks[0].name}"' in " ".join(statements)
    assert not [s for s in statements if s.startswith('DELETE FROM "comments_comment"')]


def test_a_reply_keeps_its_parent_in_the_archive_when_both_weeks_expire(
    weeks, later, stream, alice, tmp_path
):
    this_week = partitions.Week.of(timezone.now())
    (parent,) = comments_in(this_week, stream, alice, 1)
    (reply,) = comments_in(weeks[0], stream, alice, 1)
    reply.parent = parent
    reply.save(update_fields=["parent"])
    for period in retention.expired(7, now=later):
        retention.apply(period, tmp_path)
    (archived,) = retention.read(tmp_path / f"{weeks[0].name}.jsonl.gz")
    assert archived["parent_id"] == parent.id
    assert not Comment.objects.exists()
