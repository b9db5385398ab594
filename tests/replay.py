"""Comments at chosen offsets of a stream, and ended streams: the replay tests' setting."""

import itertools
import uuid
from datetime import timedelta

from django.utils import timezone

from comments.models import Comment
from comments.snowflake import first_id_at
from streams.models import Stream

_sequence = itertools.count()


def comment_at(stream, author, offset_ms, content="hello", store_delay_ms=3, **flags):
    """A comment received `offset_ms` after the stream's start, stored (id made) a bit later."""
    received = stream.created_at + timedelta(milliseconds=offset_ms)
    stored_ms = int(received.timestamp() * 1000) + store_delay_ms
    return Comment.objects.create(
        id=first_id_at(stored_ms) | (next(_sequence) % 4096),
        stream=stream,
        author=author,
        content=content,
        idempotency_key=uuid.uuid4(),
        created_at=received,
        received_at=received,
        **flags,
    )


def end(stream, after_ms=60_000):
    stream.status = Stream.Status.ENDED
    stream.ended_at = stream.created_at + timedelta(milliseconds=after_ms)
    stream.save()
    return stream


def started(stream, ago_ms):
    """The stream, started `ago_ms` ago: its comments so far have settled (comment_seconds)."""
    Stream.objects.filter(id=stream.id).update(
        created_at=timezone.now() - timedelta(milliseconds=ago_ms)
    )
    stream.refresh_from_db()
    return stream
