"""manage.py make_replay_stream: an ended stream with a million comments, for the replay figures."""

import io
import math
import os
import random
import time
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from comments.comment_seconds import count_streams
from comments.models import Comment, CommentSecond, ReactionSecond, SnowflakeWorker
from comments.protocol import REACTION_TYPES
from comments.snowflake import MAX_SEQUENCE, MAX_WORKER, SEQUENCE_BITS, first_id_at
from streams.models import Stream

User = get_user_model()

WORKERS = 4  # gateway processes the ids look made by
# Where the chat peaks, as fractions of the stream, and how much of the chat is in peaks.
PEAKS = [0.12, 0.37, 0.58, 0.83]
PEAK_SHARE = 0.3
PEAK_WIDTH_S = 40.0
CONTENT = [
    "this is great",
    "hello from Lisbon!",
    "what song is this?",
    "🔥🔥🔥",
    "can you show that again?",
    "lol",
    "first time here, love it",
    "how long is the stream?",
    "GG",
    "the audio is a bit low",
]
COPY_CHUNK_ROWS = 50_000


class Command(BaseCommand):
    help = (
        "Create an ended stream with COMMENTS comments (Snowflake ids spread over HOURS, with a "
        "few peaks) and reactions per second, by COPY into PostgreSQL, its comments counted per "
        "second as its gateways would have; print its id."
    )

    def add_arguments(self, parser):
        parser.add_argument("--comments", type=int, default=1_000_000)
        parser.add_argument("--hours", type=float, default=4.0)
        parser.add_argument("--users", type=int, default=2_000)
        parser.add_argument("--seed", type=int, default=16)

    def handle(self, *args, comments: int, hours: float, users: int, seed: int, **options):
        if connection.vendor != "postgresql":
            raise CommandError("make_replay_stream needs PostgreSQL (set DATABASE_URL).")
        if comments < 1 or hours <= 0 or users < 1:
            raise CommandError("--comments, --hours and --users must be positive.")
        rng = random.Random(seed)
        began = time.perf_counter()
        duration_ms = int(hours * 3600 * 1000)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours + 1)
        author_ids = self._users(users)
        start_ms = int(start.timestamp() * 1000)
        offsets = sorted(_offset(rng, duration_ms) for _ in range(comments))
        with transaction.atomic(), connection.cursor() as cursor:
            stream = Stream.objects.create(title=f"Replay of {comments:,} comments")
            # created_at is set on create (auto_now_add): move the stream into the past after.
            Stream.objects.filter(id=stream.id).update(
                created_at=start,
                status=Stream.Status.ENDED,
                ended_at=start + timedelta(milliseconds=duration_ms),
            )
            # Worker numbers claimed like gateways claim theirs, so no id is another's.
            workers = [
                SnowflakeWorker.objects.create(hostname="make_replay_stream", pid=os.getpid()).pk
                % (MAX_WORKER + 1)
                for _ in range(WORKERS)
            ]
            rows = _comment_rows(rng, stream.id, start_ms, offsets, author_ids, workers)
            _copy(cursor, Comment, _COMMENT_COLUMNS, rows)
            rows = _reaction_rows(rng, stream.id, start_ms, duration_ms)
            _copy(cursor, ReactionSecond, _REACTION_COLUMNS, rows)
        # Counted per second, as the stream's gateways would have done while it was live.
        count_streams([stream.id])
        with connection.cursor() as cursor:
            # Fresh statistics, and a visibility map for index-only scans (moments).
            for model in (Comment, ReactionSecond, CommentSecond, User):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        self.stderr.write(
            f"{comments:,} comments over {hours} h in {time.perf_counter() - began:.1f} s"
        )
        self.stdout.write(str(stream.id))

    def _users(self, count: int) -> list[int]:
        names = [f"replay-viewer-{n}" for n in range(count)]
        password = make_password(None)  # unusable: these accounts never log in
        User.objects.bulk_create(
            [User(username=name, password=password) for name in names], ignore_conflicts=True
        )
        return list(User.objects.filter(username__in=names).values_list("id", flat=True))


def _offset(rng: random.Random, duration_ms: int) -> int:
    if rng.random() < PEAK_SHARE:
        centre = rng.choice(PEAKS) * duration_ms
        offset = rng.gauss(centre, PEAK_WIDTH_S * 1000)
    else:
        offset = rng.random() * duration_ms
    return min(duration_ms - 1, max(0, int(offset)))


_COMMENT_COLUMNS = [
    "id",
    "stream_id",
    "author_id",
    "content",
    "parent_id",
    "author_role",
    "is_highlighted",
    "is_pinned",
    "is_hidden",
    "review",
    "held_reason",
    "pending_content",
    "idempotency_key",
    "created_at",
    "received_at",
]
_REACTION_COLUMNS = ["stream_id", "second", "reaction_type", "count"]


def _comment_rows(rng, stream_id, start_ms, offsets, author_ids, workers):
    sequences = [0] * WORKERS
    last_ms = [-1] * WORKERS
    recent: deque[int] = deque(maxlen=50)  # replies go to one of the last 50
    for offset in offsets:
        received_ms = start_ms + offset
        # The writer stores a post a few milliseconds after its gateway received it.
        stored_ms = received_ms + rng.randint(1, 20)
        worker = rng.randrange(WORKERS)
        if stored_ms <= last_ms[worker]:
            stored_ms = last_ms[worker]
            sequences[worker] += 1
            if sequences[worker] > MAX_SEQUENCE:  # as the generator does: borrow the next ms
                stored_ms += 1
                sequences[worker] = 0
        else:
            sequences[worker] = 0
        last_ms[worker] = stored_ms
        worker_bits = workers[worker] << SEQUENCE_BITS
        comment_id = first_id_at(stored_ms) | worker_bits | sequences[worker]
        parent = rng.choice(recent) if recent and rng.random() < 0.05 else None
        recent.append(comment_id)
        received = datetime.fromtimestamp(received_ms / 1000, tz=UTC).isoformat()
        yield (
            comment_id,
            stream_id,
            rng.choice(author_ids),
            rng.choice(CONTENT),
            parent,
            "viewer",
            "f",
            "f",
            "t" if rng.random() < 0.01 else "f",  # hidden by a moderator
            "",
            "",
            "",
            uuid.UUID(int=rng.getrandbits(128), version=4),
            received,
            received,
        )


def _reaction_rows(rng, stream_id, start_ms, duration_ms):
    first = math.ceil(start_ms / 1000)
    for second in range(first, (start_ms + duration_ms) // 1000):
        fraction = (second * 1000 - start_ms) / duration_ms
        near_peak = min(abs(fraction - p) for p in PEAKS) * duration_ms / 1000
        busy = 1 + 20 * math.exp(-((near_peak / PEAK_WIDTH_S) ** 2))
        for reaction_type in REACTION_TYPES:
            count = int(rng.random() * busy * (3 if reaction_type == "like" else 1))
            if count:
                yield (stream_id, second, reaction_type, count)


def _copy(cursor, model, columns, rows) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(sql) as copy:
        buffer = io.StringIO()
        for n, row in enumerate(rows, 1):
            buffer.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
            if n % COPY_CHUNK_ROWS == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
