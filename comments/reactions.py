"""Reaction aggregation: counted per stream, sent as one `reactions_batch` per interval.

Each gateway counts the reactions its sockets send (capping floods per user, silently),
publishes its interval's counts to the stream's group, and every gateway merges what it
hears into one frame per interval for its own sockets. Running totals go to the
database in the background, and so do the counts per second that the replay shows.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from .models import Comment, ReactionSecond, ReactionTotal
from .state.revision import bump_replay_revision

# At most this many reactions per user per stream per interval count; the rest are dropped.
MAX_REACTIONS_PER_USER_PER_INTERVAL = 5
INTERVAL_SECONDS = 0.5

TotalKey = tuple[int, int | None, str]  # stream id, comment id, reaction type
SecondKey = tuple[int, int, str]  # stream id, Unix second, reaction type
# Rows per INSERT when adding counts per second: one statement per flush in practice.
SECONDS_PER_INSERT = 500


@dataclass
class ReactionCounter:
    """One stream's reactions counted on this gateway during the current interval."""

    counts: Counter[str] = field(default_factory=Counter)
    totals: Counter[TotalKey] = field(default_factory=Counter)
    per_user: Counter[int] = field(default_factory=Counter)

    def add(self, stream_id: int, user_id: int, reaction_type: str, comment_id: int | None) -> None:
        if self.per_user[user_id] >= MAX_REACTIONS_PER_USER_PER_INTERVAL:
            return
        self.per_user[user_id] += 1
        self.counts[reaction_type] += 1
        self.totals[(stream_id, comment_id, reaction_type)] += 1

    def take_counts(self) -> dict[str, int]:
        counts = dict(self.counts)
        self.counts.clear()
        self.per_user.clear()
        return counts

    def take_totals(self) -> Counter[TotalKey]:
        totals = self.totals
        self.totals = Counter()
        return totals


def _total(stream_id: int, comment_id: int | None, reaction_type: str):
    rows = ReactionTotal.objects.filter(stream_id=stream_id, reaction_type=reaction_type)
    return rows.filter(comment=None) if comment_id is None else rows.filter(comment_id=comment_id)


def add_to_totals(totals: Counter[TotalKey]) -> None:
    """Add interval counts to the running totals (one UPDATE per key, INSERT when new)."""
    comment_ids = {comment_id for _, comment_id, _ in totals if comment_id is not None}
    # Reactions name comments by client-given ids: count only those of their own stream.
    comment_streams = dict(
        Comment.objects.filter(id__in=comment_ids).values_list("id", "stream_id")
    )
    with transaction.atomic():
        for (stream_id, comment_id, reaction_type), count in totals.items():
            if comment_id is not None and comment_streams.get(comment_id) != stream_id:
                continue
            if _total(stream_id, comment_id, reaction_type).update(count=F("count") + count):
                continue
            try:
                with transaction.atomic():
                    ReactionTotal.objects.create(
                        stream_id=stream_id,
                        comment_id=comment_id,
                        reaction_type=reaction_type,
                        count=count,
                    )
            except IntegrityError:  # another gateway created the row first
                _total(stream_id, comment_id, reaction_type).update(count=F("count") + count)


def add_to_seconds(seconds: Counter[SecondKey]) -> None:
    """Add interval counts to the per-second counts: one upsert that adds, per 500 keys.

    An upsert, not read-then-write, because several gateways add to the same second.
    """
    table = connection.ops.quote_name(ReactionSecond._meta.db_table)
    items = [(key, count) for key, count in seconds.items() if count]
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(items), SECONDS_PER_INSERT):
            chunk = items[start : start + SECONDS_PER_INSERT]
            cursor.execute(
                f"INSERT INTO {table} (stream_id, second, reaction_type, count) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
                + " ON CONFLICT (stream_id, second, reaction_type)"
                f" DO UPDATE SET count = {table}.count + excluded.count",
                [value for key, count in chunk for value in (*key, count)],
            )
    bump_replay_revision({stream_id for stream_id, _, _ in seconds})
