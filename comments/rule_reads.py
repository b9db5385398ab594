"""What the writer's rules read, kept from one flush to the next until any of it changes.

A flush used to read its streams, the authors' bans, who among them moderates and the
blocked terms: four queries, two thirds of the writer's CPU at one post a flush. Triggers
give the one row of moderation.RulesGeneration a new token in every transaction that
changes any of those tables (moderation migration 0008). While the token is the one the
cache was filled under, the cache holds what those four queries would return. A flush
decides with the reads of the last token seen (`last`) and its storing statement writes
only if the token is still that one, reading it in the same snapshot (comments.storing);
otherwise the flush decides again under the new token (`renewed`). So the rules are
exactly as fresh as a read inside the flush's transaction, at no round trip of their
own. A token is random, never counted, so a table emptied and refilled never brings back
one seen before. An edit (comments.edits) reads the token first (`current`), inside its
own transaction.
"""

import threading
from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from moderation.models import RulesGeneration
from moderation.selectors import BansInForce, bans_in_force, blocked_terms, moderator_ids
from moderation.terms import TermMatcher
from streams.models import Stream

# What the rules read of each stream a flush posts to.
STREAM_FIELDS = (
    "status",
    "host_id",
    "locked",
    "min_account_age_minutes",
    "hold_links",
    "shield_saved",
)
TOKEN_TABLE = RulesGeneration._meta.db_table
# Authors remembered under one token before starting over: bounds the memory of a token
# that lives for days on a busy site.
MAX_AUTHORS = 100_000


class RuleReads:
    """The reads of one token: each filled on first use, then served from memory."""

    def __init__(self, token: int | None) -> None:
        self.token = token
        self._streams: dict[int, Stream | None] = {}
        self._bans: dict[int, BansInForce] = {}
        self._moderators: dict[int, bool] = {}
        self._matcher: TermMatcher | None = None

    def streams(self, stream_ids: Iterable[int]) -> dict[int, Stream]:
        missing = set(stream_ids) - self._streams.keys()
        if missing:
            found = Stream.objects.filter(id__in=missing).only(*STREAM_FIELDS).in_bulk()
            self._streams.update((stream_id, found.get(stream_id)) for stream_id in missing)
        return {
            stream_id: stream
            for stream_id in stream_ids
            if (stream := self._streams[stream_id]) is not None
        }

    def bans(self, author_ids: Iterable[int], now: datetime) -> BansInForce:
        """The authors' bans in force at `now`, on every stream and site-wide."""
        missing = set(author_ids) - self._bans.keys()
        if missing:
            found: dict[int, BansInForce] = {author_id: {} for author_id in missing}
            for (user_id, stream_id), restriction in bans_in_force(missing).items():
                found[user_id][user_id, stream_id] = restriction
            # Whole at once: a flush on the event loop reads these while this thread fills.
            self._bans.update(found)
        # A timeout read in force may have run out since.
        return {
            key: restriction
            for author_id in author_ids
            for key, restriction in self._bans[author_id].items()
            if restriction.in_force(now)
        }

    def moderators(self, author_ids: Iterable[int]) -> set[int]:
        missing = set(author_ids) - self._moderators.keys()
        if missing:
            found = moderator_ids(missing)
            self._moderators.update((author_id, author_id in found) for author_id in missing)
        return {author_id for author_id in author_ids if self._moderators[author_id]}

    def blocked_terms(self) -> TermMatcher:
        if self._matcher is None:
            self._matcher = blocked_terms()
        return self._matcher

    def hold(self, stream_ids: Iterable[int], author_ids: Iterable[int]) -> bool:
        """Whether every read of these streams and authors is in memory: none would query."""
        author_ids = set(author_ids)
        return (
            self._matcher is not None
            and self._streams.keys() >= set(stream_ids)
            and self._bans.keys() >= author_ids
            and self._moderators.keys() >= author_ids
        )

    def crowded(self) -> bool:
        return len(self._bans) > MAX_AUTHORS or len(self._moderators) > MAX_AUTHORS


_current = RuleReads(None)
_lock = threading.Lock()


def current() -> RuleReads:
    """The reads valid in the calling transaction; call inside it, before the rules."""
    return renewed(read_token())


def last() -> RuleReads:
    """The reads of the last token seen, without reading it: who uses them must check the
    token in the statement that writes (the writer does, comments.storing)."""
    global _current
    with _lock:
        if _current.token is None:
            # No token was ever read, or the row was emptied away: trust nothing kept.
            _current = RuleReads(None)
        elif _current.crowded():
            # Start over under the same token: what is read from now on is no older.
            _current = RuleReads(_current.token)
        return _current


def renewed(token: int | None) -> RuleReads:
    """The reads of `token`: those kept if it is the token they were read under."""
    global _current
    with _lock:
        if token is None or token != _current.token or _current.crowded():
            _current = RuleReads(token)
        return _current


def read_token() -> int | None:
    # A plain cursor: the ORM spends more building this query than PostgreSQL reading it.
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(TOKEN_TABLE)
        cursor.execute(f"SELECT token FROM {table} WHERE id = 1")
        row = cursor.fetchone()
    return None if row is None else row[0]
