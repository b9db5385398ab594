"""Posts as the comment writer receives them, for the tests that drive it directly."""

import uuid
from datetime import UTC, datetime

from comments.writer import Post


def writer_post(user, stream_id: int, content: str = "hi", *, key: str | None = None) -> Post:
    """`user`'s post of `content` to the stream, under a new idempotency key unless `key`."""
    return Post(
        author_id=user.id,
        username=user.username,
        stream_id=stream_id,
        content=content,
        idempotency_key=key or str(uuid.uuid4()),
        parent_id=None,
        received_at=datetime.now(UTC),
    )
