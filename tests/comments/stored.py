"""Comments stored directly, as the writer would have, for tests that read them back."""

import uuid
from datetime import datetime

from django.utils import timezone

from comments import snowflake
from comments.models import Comment


def store_comments(stream, author, count: int, *, at: datetime | None = None, **extra):
    """Store `count` comments; their ids are made now, or at `at` (a clock set there)."""
    if at is None:
        ids = snowflake.generator()
    else:
        ids = snowflake.SnowflakeGenerator(9, clock=at.timestamp)
    moment = at or timezone.now()
    rows = [
        Comment(
            id=ids.next_id(),
            stream=stream,
            author=author,
            content=f"c{n}",
            idempotency_key=uuid.uuid4(),
            created_at=moment,
            received_at=moment,
            **extra,
        )
        for n in range(count)
    ]
    return Comment.objects.bulk_create(rows)
