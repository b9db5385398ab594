"""Comments counted per second of their stream, for the moments (SPEC §4, the heat strip).

Counting a long stream's comments at each read took most of a second (a million rows), so
each stream's comments are counted once, a second at a time as they settle: by the gateways
that store them, every few seconds while the stream is live (comments.periodic), and by a
read of the moments for whatever is left (a stream that ended since, or one from before
these counts). Nothing is added to storing a post.

Hidden comments (by a moderator, held, denied, deleted) are counted too, and taken away when
the moments are read, by the index of hidden comments: a hide, whenever it happens, shows at
once and recounts nothing.

A comment is counted once its id's second is SETTLED_MS old: the writer commits a comment
within milliseconds of making its id, and one committed later than that (a database stalled
for longer) is never counted. Comments that come back or go (retention, a restore, a deleted
user) have their streams counted again from the start (`recount`).
"""

import time
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, F, QuerySet, Sum

from streams.models import Stream

from .models import Comment, CommentSecond, CommentSecondsMark
from .snowflake import EPOCH_MS, TIME_SHIFT, first_id_at
from .state.revision import bump_replay_revision

SETTLED_MS = 10_000


def start_ms(stream: Stream) -> int:
    """The stream's start, which offsets are counted from, in ms since the Unix epoch."""
    return int(stream.created_at.timestamp() * 1000)


def _by_id_time(rows: QuerySet[Comment], start: int, size_ms: int) -> QuerySet:
    """The rows counted per `size_ms` since `start`: (bucket, count) pairs.

    By the id's time, not the received time: the count then reads an index alone, and the
    two differ by milliseconds.
    """
    bucket = (F("id").bitrightshift(TIME_SHIFT) + (EPOCH_MS - start)) / size_ms
    return rows.annotate(bucket=bucket).order_by().values_list("bucket").annotate(n=Count("*"))


def count_settled(stream_id: int, start: int, now_ms: int, *, wait: bool) -> int | None:
    """Count the stream's settled comments not counted yet; return the id below which all are.

    Call it in a transaction: the stream's mark stays locked until its end, so what the
    caller reads next no other process changes. With wait=False, a stream that another
    process is counting is skipped (None).
    """
    mark = _locked_mark(stream_id, start, wait)
    if mark is None:
        return None
    # Whole seconds of the stream: each second is counted once, by one INSERT.
    settled = first_id_at(start + (now_ms - SETTLED_MS - start) // 1000 * 1000)
    if settled <= mark.counted_below_id:
        return mark.counted_below_id
    _insert_seconds(stream_id, start, mark.counted_below_id, settled)
    mark.counted_below_id = settled
    mark.save(update_fields=["counted_below_id"])
    return settled


def _insert_seconds(stream_id: int, start: int, low: int, high: int) -> None:
    """Count the stream's comments with ids in [low, high) into new CommentSeconds.

    One INSERT ... SELECT: a long stream counted at once is tens of thousands of seconds,
    which the database adds up faster than Python does.
    """
    rows = Comment.objects.filter(stream_id=stream_id, id__gte=low, id__lt=high)
    # Shown and hidden apart, each read by its own partial index on (stream, id).
    shown, hidden = (_by_id_time(rows.filter(is_hidden=h), start, 1000) for h in (False, True))
    select, params = shown.union(hidden, all=True).query.sql_with_params()
    table = connection.ops.quote_name(CommentSecond._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (stream_id, second, count)"
            f" SELECT %s, counted.bucket, SUM(counted.n) FROM ({select}) counted"
            " GROUP BY counted.bucket",
            [stream_id, *params],
        )


def _locked_mark(stream_id: int, start: int, wait: bool) -> CommentSecondsMark | None:
    """The stream's mark, locked; None if another process holds it and wait is False."""
    marks = CommentSecondsMark.objects.select_for_update(skip_locked=not wait)
    mark = marks.filter(stream_id=stream_id).first()
    # None: the mark is not there, or another process holds it; inserting one that is
    # there would wait for that process's count to end.
    there = CommentSecondsMark.objects.filter(stream_id=stream_id)
    if mark is not None or (not wait and there.exists()):
        return mark
    # The stream's first count; of two at once, the second's insert does nothing.
    first = CommentSecondsMark(stream_id=stream_id, counted_below_id=first_id_at(start))
    CommentSecondsMark.objects.bulk_create([first], ignore_conflicts=True)
    return marks.filter(stream_id=stream_id).first()


def count_streams(stream_ids: Iterable[int]) -> None:
    """Count what has settled of these streams' comments (a gateway's periodic work)."""
    now_ms = int(time.time() * 1000)
    for stream in Stream.objects.filter(id__in=list(stream_ids)).only("created_at"):
        with transaction.atomic():
            count_settled(stream.id, start_ms(stream), now_ms, wait=False)


def per_bucket(stream: Stream, size_ms: int, buckets: int) -> list[int]:
    """The stream's visible comments per `size_ms` (a whole number of seconds) from its start.

    The last bucket takes in whatever comes after it.
    """
    start = start_ms(stream)
    counts = [0] * buckets

    def add(pairs: Iterable[tuple[int, int]], sign: int) -> None:
        for bucket, n in pairs:
            counts[min(int(bucket), buckets - 1)] += sign * n

    with transaction.atomic():
        now_ms = int(time.time() * 1000)
        # None only if a recount took the mark away meanwhile, and the counts with it.
        counted_below = count_settled(stream.id, start, now_ms, wait=True) or first_id_at(start)
        add(
            CommentSecond.objects.filter(stream_id=stream.id)
            .annotate(bucket=F("second") / (size_ms // 1000))
            .order_by()
            .values_list("bucket")
            .annotate(n=Sum("count")),
            1,
        )
        shown = Comment.objects.filter(stream_id=stream.id, is_hidden=False)
        add(_by_id_time(shown.filter(id__gte=counted_below), start, size_ms), 1)
        hidden = Comment.objects.filter(stream_id=stream.id, is_hidden=True)
        counted = hidden.filter(id__gte=first_id_at(start), id__lt=counted_below)
        add(_by_id_time(counted, start, size_ms), -1)
    return counts


def recount(stream_ids: Iterable[int]) -> None:
    """Have these streams' comments counted again from the start: some came back or went."""
    ids = list(set(stream_ids))
    if not ids:
        return
    with transaction.atomic():
        # Wait for a count under way: its seconds would be left behind otherwise.
        list(CommentSecondsMark.objects.select_for_update().filter(stream_id__in=ids))
        CommentSecond.objects.filter(stream_id__in=ids).delete()
        CommentSecondsMark.objects.filter(stream_id__in=ids).delete()
        transaction.on_commit(lambda: bump_replay_revision(ids))


def recount_author_streams(sender, instance, **kwargs) -> None:
    """A user about to be deleted takes their comments along: recount the streams they were on."""
    commented = Comment.objects.filter(author_id=instance.pk).order_by().values_list("stream_id")
    recount(stream_id for (stream_id,) in commented.distinct())
