"""Retention (SPEC §5): comments older than LC_RETENTION_DAYS go to an archive, then away.

A week at a time (comments.partitions): each expired week is written to one gzipped JSON
Lines file, `<archive dir>/<partition name>.jsonl.gz`, one comment per line. The file is
read back and its rows counted, and only when that count equals the week's rows is the
week removed: on PostgreSQL its partition is detached and dropped (no row-by-row delete,
no bloat, no vacuum); on SQLite its rows are deleted. An archive already on disk is never
overwritten: a week whose rows do not match it is refused, not dropped.

What points at the comments goes first, as their foreign keys say: reports, reaction
totals and idempotency keys of those comments are deleted, and newer replies lose their
parent. Restoring (`restore`) puts the comments back, not those. Either way, the streams
of those comments have them counted again for their moments (comments.comment_seconds).
"""

import gzip
import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from streams.models import Stream

from . import comment_seconds, partitions
from .models import Comment, CommentKey

logger = logging.getLogger(__name__)

CHUNK = 5000
FIELDS = [field.attname for field in Comment._meta.concrete_fields]
_DATETIMES = {
    f.attname for f in Comment._meta.concrete_fields if isinstance(f, models.DateTimeField)
}


class ArchiveMismatch(Exception):
    """An archive that does not hold exactly the week's comments: the week is kept."""


@dataclass(frozen=True)
class Period:
    """An expired week: the ids in [low, high), a partition on PostgreSQL."""

    name: str
    low: int | None
    high: int
    is_partition: bool

    def rows(self) -> models.QuerySet[Comment]:
        rows = Comment.objects.filter(id__lt=self.high)
        return rows if self.low is None else rows.filter(id__gte=self.low)

    def archive_in(self, directory: Path) -> Path:
        return directory / f"{self.name}.jsonl.gz"


@dataclass(frozen=True)
class Outcome:
    period: Period
    rows: int
    archive: Path
    archived_now: bool  # False: the archive was on disk already (and matched)


def expired(days: int, now: datetime | None = None) -> list[Period]:
    """The weeks whose every comment is older than `days` days, newest first.

    Newest first, because dropping a week takes the parent from replies in later weeks:
    a later week archived first keeps its replies' parents in its archive.
    """
    cutoff = (now or timezone.now()) - timedelta(days=days)
    if partitions.is_partitioned(connection):
        return [
            Period(p.name, p.low, p.high, True)
            for p in reversed(partitions.attached(connection))
            if p.ends_at <= cutoff
        ]
    # Not partitioned (SQLite): the weeks that have comments, found by skipping empty ones.
    found = []
    oldest = Comment.objects.order_by("id").values_list("id", flat=True).first()
    while oldest is not None:
        week = partitions.Week.of_id(oldest)
        if week.ends_at > cutoff:
            break
        found.append(Period(week.name, week.first_id, week.end_id, False))
        later = Comment.objects.filter(id__gte=week.end_id).order_by("id")
        oldest = later.values_list("id", flat=True).first()
    return found[::-1]


def apply(period: Period, directory: Path, *, dry_run: bool = False) -> Outcome:
    """Archive the week (unless its archive is there), check the archive, then drop the week.

    Raise ArchiveMismatch, keeping the week, when the archive's rows are not the week's.
    """
    path = period.archive_in(directory)
    with transaction.atomic():
        if period.is_partition and not dry_run:
            # Held until the partition is dropped: no edit or moderation can change a row
            # between the archive and the drop.
            with connection.cursor() as cursor:
                cursor.execute(f'LOCK TABLE "{period.name}" IN SHARE MODE')
        count = period.rows().count()
        if dry_run:
            return Outcome(period, count, path, archived_now=not path.exists())
        archived_now = not path.exists()
        if archived_now:
            write(period.rows(), path)
        archived = count_lines(path)
        if archived != count:
            raise ArchiveMismatch(
                f"{path} holds {archived} comments and {period.name} has {count}: not dropping"
                f" {period.name}. Move the file away to archive the week again."
            )
        streams = period.rows().order_by().values_list("stream_id", flat=True).distinct()
        comment_seconds.recount(list(streams))
        _release_dependents(period)
        _drop(period)
    logger.info(
        "retention: %s dropped, %d comments in %s%s",
        period.name,
        count,
        path,
        "" if archived_now else " (archived before)",
    )
    return Outcome(period, count, path, archived_now)


def write(rows: models.QuerySet[Comment], path: Path) -> int:
    """Write the rows to a gzipped JSON Lines file, atomically (a partial file never shows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    with gzip.open(partial, "wt", encoding="utf-8") as out:
        for row in rows.order_by("id").values(*FIELDS).iterator(chunk_size=CHUNK):
            out.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
            count += 1
    with open(partial, "rb") as written:
        os.fsync(written.fileno())
    partial.rename(path)
    return count


def read(path: Path) -> Iterator[dict[str, Any]]:
    """The comments of an archive, as Comment field values."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            for name in _DATETIMES:
                if row.get(name) is not None:
                    row[name] = parse_datetime(row[name])
            row["idempotency_key"] = uuid.UUID(row["idempotency_key"])
            yield row


def count_lines(path: Path) -> int:
    """The rows in an archive; reading it whole also checks its gzip checksum."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            return sum(1 for _ in lines)
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise ArchiveMismatch(f"{path} cannot be read back ({error}): not dropping") from None


def _release_dependents(period: Period) -> None:
    """Do for the week's comments what each foreign key's on_delete says, a statement each."""
    for relation in Comment._meta.related_objects:
        field = relation.field
        pointing = relation.related_model._default_manager.filter(
            **{f"{field.name}__lt": period.high}
        )
        if period.low is not None:
            pointing = pointing.filter(**{f"{field.name}__gte": period.low})
        if relation.related_model is Comment:
            # Replies in the same week go with it; only later ones need changing.
            pointing = pointing.filter(id__gte=period.high)
        if relation.on_delete is models.CASCADE:
            pointing.delete()
        elif relation.on_delete is models.SET_NULL:
            pointing.update(**{field.name: None})
        else:
            raise ArchiveMismatch(
                f"{relation.related_model.__name__}.{field.name} protects comments"
            )


def _drop(period: Period) -> None:
    with connection.cursor() as cursor:
        if period.is_partition:
            # The deferred foreign-key checks of the statements before must run first: a
            # table with pending trigger events cannot be dropped.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'ALTER TABLE "{partitions.TABLE}" DETACH PARTITION "{period.name}"')
            cursor.execute(f'DROP TABLE "{period.name}"')
        else:
            bounds = [period.high] if period.low is None else [period.high, period.low]
            cursor.execute(
                f'DELETE FROM "{partitions.TABLE}" WHERE id < %s'
                + ("" if period.low is None else " AND id >= %s"),
                bounds,
            )


@dataclass(frozen=True)
class Restored:
    inserted: int
    present: int  # in the archive and already in the table
    skipped: int  # their stream or author is gone


def restore(path: Path) -> Restored:
    """Put an archive's comments back (again: nothing twice), making partitions they need."""
    totals = [0, 0, 0]
    batch: list[dict[str, Any]] = []
    for row in read(path):
        batch.append(row)
        if len(batch) == CHUNK:
            totals = [a + b for a, b in zip(totals, _restore_batch(batch), strict=True)]
            batch = []
    if batch:
        totals = [a + b for a, b in zip(totals, _restore_batch(batch), strict=True)]
    restored = Restored(*totals)
    logger.info("restored from %s: %s", path, restored)
    return restored


def _restore_batch(rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    streams = set(
        Stream.objects.filter(id__in={r["stream_id"] for r in rows}).values_list("id", flat=True)
    )
    authors = set(
        get_user_model()
        .objects.filter(id__in={r["author_id"] for r in rows})
        .values_list("id", flat=True)
    )
    kept = [r for r in rows if r["stream_id"] in streams and r["author_id"] in authors]
    with transaction.atomic():
        _ensure_partitions(r["id"] for r in kept)
        ids = {r["id"] for r in kept}
        already = set(Comment.objects.filter(id__in=ids).values_list("id", flat=True))
        parents = {r["parent_id"] for r in kept if r["parent_id"] is not None}
        known_parents = ids | set(
            Comment.objects.filter(id__in=parents).values_list("id", flat=True)
        )
        new = [
            Comment(
                **{**r, "parent_id": r["parent_id"] if r["parent_id"] in known_parents else None}
            )
            for r in kept
            if r["id"] not in already
        ]
        Comment.objects.bulk_create(new)
        comment_seconds.recount(c.stream_id for c in new)
        # Their keys again, so that a key retried after a restore still stores nothing.
        CommentKey.objects.bulk_create(
            (
                CommentKey(
                    comment_id=c.id, author_id=c.author_id, idempotency_key=c.idempotency_key
                )
                for c in new
            ),
            ignore_conflicts=True,
        )
    return len(new), len(already), len(rows) - len(kept)


def _ensure_partitions(ids: Iterable[int]) -> None:
    if not partitions.is_partitioned(connection):
        return
    attached = partitions.attached(connection)
    for week in {partitions.Week.of_id(i) for i in ids}:
        if not any(
            (p.low is None or p.low <= week.first_id) and week.first_id < p.high for p in attached
        ):
            partitions.create(week, connection)
