"""A stream's replay revision: a token that changes whenever what its replay shows may.

Moderation, edits and deletes (through `invalidate_recent_on_commit`) and stored reactions
change it, so replay answers cached or tagged under an old token are never served again.
It lives in Django's cache (Redis when configured), shared by every process.
"""

import time

from django.core.cache import cache

# Longer than any cached replay answer lives: an evicted token is replaced by a new one.
KEPT_SECONDS = 7 * 24 * 3600


def _key(stream_id: int) -> str:
    return f"replay:revision:{stream_id}"


def replay_revision(stream_id: int) -> str:
    """The current token; a stream never seen gets a fresh one, never an old one again."""
    revision = cache.get(_key(stream_id))
    if revision is None:
        cache.add(_key(stream_id), str(time.time_ns()), KEPT_SECONDS)
        revision = cache.get(_key(stream_id))
    return str(revision)


def bump_replay_revision(stream_ids) -> None:
    token = str(time.time_ns())
    cache.set_many({_key(stream_id): token for stream_id in stream_ids}, KEPT_SECONDS)
