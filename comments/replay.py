"""Reads for the replay (SPEC §4): a window of a stream's comments and reactions, and its moments.

Offsets are milliseconds since the stream's start (`Stream.created_at`). A comment's
offset is its received time; its Snowflake id was made when the writer stored it, a
little later on the same clock, so a window is bounded by id (an index range scan on
`(stream, id)`, the backfill's index) and then filtered by received time exactly.
Answers for ended streams are cached under the stream's replay revision, which every
change of what the replay shows replaces (comments.state.revision). The moments read the
comments counted per second (comments.comment_seconds) rather than count them.
"""

import functools
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from django.core.cache import cache
from django.db import connections
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from livecomments.errors import InvalidMessage
from streams.models import Stream

from . import comment_seconds
from .comment_seconds import start_ms
from .models import Comment, ReactionSecond
from .rendering import WireComment, wire_comment
from .snowflake import first_id_at
from .state.revision import replay_revision

# A window is at most five minutes: a client prefetches a few seconds ahead, and a
# bigger window of a busy stream would be one huge answer.
MAX_WINDOW_MS = 5 * 60 * 1000
# At most this many comments per answer; `next` continues the same window.
PAGE_LIMIT = 1000
# The writer stores a post within milliseconds of its receipt; one stored later than this
# (a database stalled for longer) is outside the id range of its window.
LATEST_STORE_MS = 10_000
# Moments: the smallest of these bucket sizes that gives at most MAX_BUCKETS buckets.
BUCKET_SIZES_MS = [
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    1_800_000,
    3_600_000,
]
MAX_BUCKETS = 300
# Cached answers of ended streams live this long (their revision key outlives them).
CACHED_SECONDS = 3600
# A live stream's moments (DVR) are recounted at most this often.
LIVE_MOMENTS_SECONDS = 5


@dataclass(frozen=True)
class Window:
    from_ms: int
    to_ms: int
    after_id: int | None = None

    @classmethod
    def parse(cls, raw_from: str | None, raw_to: str | None, raw_after: str | None) -> "Window":
        """The window a request names, or InvalidMessage saying what is wrong with it."""
        from_ms = _offset("from", raw_from)
        to_ms = _offset("to", raw_to)
        if to_ms <= from_ms:
            raise InvalidMessage("to must be greater than from.")
        if to_ms - from_ms > MAX_WINDOW_MS:
            raise InvalidMessage(f"A window is at most {MAX_WINDOW_MS} ms.")
        after_id = None
        if raw_after:
            if not raw_after.isdigit() or len(raw_after) > 19:
                raise InvalidMessage("after must be a comment id.")
            after_id = int(raw_after)
        return cls(from_ms, to_ms, after_id)

    @property
    def name(self) -> str:
        return f"{self.from_ms}-{self.to_ms}-{self.after_id or ''}"


def _offset(name: str, raw: str | None) -> int:
    if raw is None or not raw.isdigit() or len(raw) > 12:
        raise InvalidMessage(f"{name} must be an offset in milliseconds (0 or more).")
    return int(raw)


def revision_of(stream: Stream) -> str | None:
    """The stream's replay revision while its replay stays put (it has ended), else None.

    Read once per request: it names the cached answer and makes its ETag.
    """
    return replay_revision(stream.id) if stream.status == Stream.Status.ENDED else None


def answer_name(stream: Stream, revision: str, what: str) -> str:
    """The name of an answer about `what` of an ended stream at `revision` (its ETag)."""
    return f"{stream.id}:{revision}:{what}"


def replay_window(stream: Stream, window: Window, revision: str | None) -> bytes:
    """Visible comments received in the window, by offset, and reactions per second (JSON)."""
    if revision is None:
        return orjson.dumps(_replay_window(stream, window))
    key = f"replay:window:{answer_name(stream, revision, window.name)}"
    return _cached(key, CACHED_SECONDS, lambda: _replay_window(stream, window))


def _cached(key: str, seconds: int, read: Callable[[], dict[str, Any]]) -> bytes:
    """The answer encoded once: a cached window is sent as the bytes it was stored as."""
    answer = cache.get(key)
    if answer is None:
        answer = orjson.dumps(read())
        cache.set(key, answer, seconds)
    return answer


def _replay_window(stream: Stream, window: Window) -> dict[str, Any]:
    start = start_ms(stream)
    first = first_id_at(start + window.from_ms)
    if window.after_id is not None:
        first = max(first, window.after_id + 1)
    rows = (
        Comment.objects.filter(stream_id=stream.id, is_hidden=False)
        .filter(
            id__gte=first,
            id__lt=first_id_at(start + window.to_ms + LATEST_STORE_MS),
            received_at__gte=_moment(start + window.from_ms),
            received_at__lt=_moment(start + window.to_ms),
        )
        .order_by("id")
        # Only what a Comment shows: the author's other columns cost more to decode than
        # the whole index scan takes.
        .values_list(*WIRE_FIELDS)
    )
    page = _rows(rows[: PAGE_LIMIT + 1])
    more = len(page) > PAGE_LIMIT
    page = page[:PAGE_LIMIT]
    comments = sorted((replay_comment(row, start) for row in page), key=_by_offset)
    return {
        "comments": comments,
        "reactions": _reactions_per_second(stream.id, start, window),
        "next": str(page[-1][0]) if more else None,
    }


# The columns `wire_comment` takes, in its keywords' order.
WIRE_FIELDS = (
    "id",
    "stream_id",
    "author_id",
    "author__username",
    "content",
    "parent_id",
    "is_highlighted",
    "is_pinned",
    "created_at",
    "received_at",
    "author_role",
    "edited_at",
)
_WIRE_KEYWORDS = ("comment_id", "stream_id", "user_id", "username", *WIRE_FIELDS[4:])


def _rows(rows: QuerySet) -> list[tuple]:
    """The rows of a values_list query; on PostgreSQL, with psycopg's own timestamp loader.

    Django's (a subclass in pure Python of psycopg's) took more of a cold window's time
    decoding its two timestamps a comment than the rest of the rendering did; psycopg's
    gives the same datetimes in UTC (Django keeps the connection's time zone UTC).
    """
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        return list(rows)
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _timestamptz_loader())
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _timestamptz_loader():
    import psycopg

    timestamptz = psycopg.postgres.types["timestamptz"].oid
    return psycopg.adapters.get_loader(timestamptz, psycopg.pq.Format.TEXT)


def replay_comment(row: tuple, start: int) -> WireComment:
    """A Comment as every edge renders it (rendering.wire_comment), plus its offset."""
    comment = wire_comment(**dict(zip(_WIRE_KEYWORDS, row, strict=True)))
    comment["offsetMs"] = comment["metadata"]["receivedAt"] - start
    return comment


def _by_offset(comment: WireComment) -> tuple[int, int]:
    return comment["offsetMs"], int(comment["id"])


def _moment(unix_ms: int):
    return datetime.fromtimestamp(unix_ms / 1000, tz=UTC)


def _reactions_per_second(stream_id: int, start: int, window: Window) -> list[dict[str, Any]]:
    # The seconds whose offset (second * 1000 - start) falls in the window.
    rows = ReactionSecond.objects.filter(
        stream_id=stream_id,
        second__gte=math.ceil((start + window.from_ms) / 1000),
        second__lt=math.ceil((start + window.to_ms) / 1000),
    ).values_list("second", "reaction_type", "count")
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for second, reaction_type, count in rows.order_by("second"):
        counts[second][reaction_type] = count
    return [{"offsetMs": s * 1000 - start, "counts": c} for s, c in counts.items()]


def bucket_ms(duration_ms: int) -> int:
    """The smallest bucket size that cuts the stream into at most MAX_BUCKETS buckets."""
    for size in BUCKET_SIZES_MS:
        if duration_ms <= size * MAX_BUCKETS:
            return size
    return math.ceil(duration_ms / MAX_BUCKETS / BUCKET_SIZES_MS[-1]) * BUCKET_SIZES_MS[-1]


def moments(stream: Stream, revision: str | None) -> bytes:
    """Comments and reactions per bucket over the whole stream (JSON)."""
    if revision is not None:
        key, seconds = f"replay:moments:{answer_name(stream, revision, 'moments')}", CACHED_SECONDS
    else:
        key, seconds = f"replay:moments:live:{stream.id}", LIVE_MOMENTS_SECONDS
    return _cached(key, seconds, lambda: _moments(stream))


def _moments(stream: Stream) -> dict[str, Any]:
    start = start_ms(stream)
    end = stream.ended_at or timezone.now()
    duration = max(1, int(end.timestamp() * 1000) - start)
    size = bucket_ms(duration)
    count = math.ceil(duration / size)
    comments = comment_seconds.per_bucket(stream, size, count)
    reactions = [0] * count
    by_second = (
        ReactionSecond.objects.filter(stream_id=stream.id, second__gte=math.ceil(start / 1000))
        .annotate(bucket=(F("second") * 1000 - start) / size)
        .order_by()
        .values_list("bucket")
        .annotate(n=Sum("count"))
    )
    for bucket, n in by_second:
        reactions[min(int(bucket), count - 1)] += n
    return {
        "bucketMs": size,
        "buckets": [
            {"offsetMs": i * size, "comments": comments[i], "reactions": reactions[i]}
            for i in range(count)
        ],
    }
