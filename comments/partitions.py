"""Weekly partitions of the comments table on PostgreSQL, by Snowflake id (SPEC §2, §5).

A comment's id begins with the millisecond it was made (comments.snowflake), so a range of
ids is a range of time: each partition holds the comments of one week, Monday 00:00 UTC
to the next. Weeks rather than months: at millions of comments a day a week is already
tens of millions of rows, the partition being written (and its indexes) stays small
enough to keep in memory, and retention frees space a week at a time instead of keeping
up to a month more than LC_RETENTION_DAYS asks for.

There is no default partition: a comment whose week has no partition is refused by the
database (the post is answered UNAVAILABLE and retried by the client, nothing accepted
is lost), and a gateway refuses to start without the current week's partition. Operators
create partitions ahead from cron (`manage.py comment_partitions --ahead 3`).

On SQLite (the embedded default) the table is not partitioned; `weeks_between` still
gives retention the same weekly periods, so archives look the same on both.
"""

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import OperationalError
from django.utils import timezone

from . import snowflake

logger = logging.getLogger(__name__)

TABLE = "comments_comment"
DEFAULT_AHEAD = 3
# Ids below the first week a table was partitioned with (only ever made up by hand or by
# tests: Snowflakes are made at the time of the post) land here rather than be refused.
BEFORE = f"{TABLE}_before"
_BOUND = re.compile(r"FOR VALUES FROM \((MINVALUE|'?-?\d+'?)\) TO \('?(-?\d+)'?\)")


class MissingPartition(Exception):
    """This week's partition does not exist: every post would be refused."""


@dataclass(frozen=True)
class Week:
    """One week of comments: the ids made from `start` (a Monday, UTC) to 7 days later."""

    start: date

    @classmethod
    def of(cls, moment: datetime) -> "Week":
        day = moment.astimezone(UTC).date()
        return cls(day - timedelta(days=day.weekday()))

    @classmethod
    def of_id(cls, comment_id: int) -> "Week":
        return cls.of(datetime.fromtimestamp(snowflake.timestamp_ms(comment_id) / 1000, UTC))

    @property
    def name(self) -> str:
        return f"{TABLE}_w{self.start:%Y%m%d}"

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(days=7)

    @property
    def first_id(self) -> int:
        return snowflake.first_id_at(int(self.starts_at.timestamp() * 1000))

    @property
    def end_id(self) -> int:
        """The first id of the next week (exclusive bound)."""
        return snowflake.first_id_at(int(self.ends_at.timestamp() * 1000))

    def next(self) -> "Week":
        return Week(self.start + timedelta(days=7))


@dataclass(frozen=True)
class Partition:
    """An attached partition: ids in [low, high); low is None for MINVALUE."""

    name: str
    low: int | None
    high: int

    @property
    def ends_at(self) -> datetime:
        return datetime.fromtimestamp(snowflake.timestamp_ms(self.high) / 1000, UTC)


def is_partitioned(using: BaseDatabaseWrapper = connection) -> bool:
    if using.vendor != "postgresql":
        return False
    with using.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def attached(using: BaseDatabaseWrapper = connection) -> list[Partition]:
    """The comments table's partitions, oldest first."""
    with using.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        rows = cursor.fetchall()
    partitions = []
    for name, bound in rows:
        match = _BOUND.fullmatch(bound)
        if match is None:
            raise ValueError(f"{name} is not a range partition of ids: {bound}")
        low, high = match.groups()
        partitions.append(
            Partition(name, None if low == "MINVALUE" else int(low.strip("'")), int(high))
        )
    return sorted(partitions, key=lambda p: p.high)


def weeks_between(first: Week, last: Week) -> list[Week]:
    weeks = [first]
    while weeks[-1].start < last.start:
        weeks.append(weeks[-1].next())
    return weeks


def create(week: Week, using: BaseDatabaseWrapper = connection) -> bool:
    """Create the week's partition; return False if it already exists."""
    with using.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [week.name])
        if cursor.fetchone()[0]:
            return False
        # Identifiers and bounds come from Week, never from input: safe to format in.
        cursor.execute(
            f'CREATE TABLE "{week.name}" PARTITION OF "{TABLE}"'
            f" FOR VALUES FROM ({week.first_id}) TO ({week.end_id})"
        )
    logger.info("created partition %s (%s to %s)", week.name, week.starts_at, week.ends_at)
    return True


def create_ahead(
    ahead: int, now: datetime | None = None, using: BaseDatabaseWrapper = connection
) -> list[str]:
    """Create this week's partition and the next `ahead` weeks'; return the names created."""
    if ahead < 0:
        raise ValueError("ahead must be 0 or more weeks")
    this_week = Week.of(now or timezone.now())
    weeks = [this_week]
    for _ in range(ahead):
        weeks.append(weeks[-1].next())
    return [week.name for week in weeks if create(week, using)]


def missing_now(now: datetime | None = None, using: BaseDatabaseWrapper = connection) -> str | None:
    """Why posts would be refused right now for want of a partition, or None."""
    if not is_partitioned(using):
        return None
    moment = now or timezone.now()
    current = snowflake.first_id_at(int(moment.timestamp() * 1000))
    partitions = attached(using)
    if not any((p.low is None or p.low <= current) and current < p.high for p in partitions):
        return (
            f"The comments table has no partition for {moment:%Y-%m-%d %H:%M} UTC: every post "
            f"would be refused. Run `manage.py comment_partitions --ahead {DEFAULT_AHEAD}` "
            "(and from cron, daily)."
        )
    next_week = Week.of(moment).next()
    if not any(p.high >= next_week.end_id for p in partitions):
        logger.warning(
            "no comments partition for the week of %s yet: run `manage.py comment_partitions`",
            next_week.start,
        )
    return None


def require_current_partition() -> None:
    """Raise MissingPartition if this week's partition is missing (a gateway's start check).

    A database that cannot be reached does not stop a gateway: it answers UNAVAILABLE until
    the database is back, as it does for an outage after it started.
    """
    # In a thread of its own, with a connection of its own: the ASGI module may be imported
    # inside a running event loop (in-process tests), where the ORM refuses to run.
    with ThreadPoolExecutor(1) as pool:
        problem = pool.submit(_missing_now_in_this_thread).result()
    if problem:
        raise MissingPartition(problem)


def _missing_now_in_this_thread() -> str | None:
    try:
        return missing_now()
    except OperationalError as error:
        logger.warning("could not check the comments partitions at start: %s", error)
        return None
    finally:
        connection.close()
