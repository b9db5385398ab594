"""Reads that enforce moderation: bans, blocked terms and who moderates."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db.models import Q, Sum
from django.utils import timezone

from comments.models import Comment

from . import terms
from .models import Ban, BlockedTerm, BlockedTermHits
from .terms import Term, TermMatcher

MODERATORS_GROUP = "Moderators"


@dataclass(frozen=True)
class Restriction:
    """A ban in force on a user: `until` None for a ban until lifted, a time for a timeout."""

    until: datetime | None
    reason: str

    def in_force(self, now: datetime) -> bool:
        return self.until is None or self.until > now

    def seconds_left(self, now: datetime) -> int | None:
        return None if self.until is None else max(1, math.ceil((self.until - now).total_seconds()))


BansInForce = dict[tuple[int, int | None], Restriction]


def bans_in_force(user_ids: Iterable[int], stream_ids: Iterable[int] | None = None) -> BansInForce:
    """Every ban in force among these users, by (user id, stream id or None for site-wide),
    on these streams (every stream when None) and site-wide."""
    bans = Ban.objects.filter(
        Q(expires_at=None) | Q(expires_at__gt=timezone.now()), user_id__in=list(user_ids)
    )
    if stream_ids is not None:
        bans = bans.filter(Q(stream_id__in=list(stream_ids)) | Q(stream_id=None))
    rows = bans.values_list("user_id", "stream_id", "expires_at", "reason")
    return {(user, stream): Restriction(until, reason) for user, stream, until, reason in rows}


def restriction_in(bans: BansInForce, user_id: int, stream_id: int) -> Restriction | None:
    """The user's restriction on the stream: the longer of its ban and a site-wide one."""
    found = [bans.get((user_id, stream_id)), bans.get((user_id, None))]
    in_force = [restriction for restriction in found if restriction is not None]
    return max(in_force, key=_length, default=None)


def _length(restriction: Restriction) -> datetime:
    return restriction.until or datetime.max.replace(tzinfo=UTC)


def restriction_of(user_id: int, stream_id: int) -> Restriction | None:
    return restriction_in(bans_in_force([user_id], [stream_id]), user_id, stream_id)


def moderator_ids(user_ids: Iterable[int]) -> set[int]:
    """Those of these users who moderate: superusers, and staff in the Moderators group."""
    return set(
        get_user_model()
        .objects.filter(id__in=list(user_ids), is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__name=MODERATORS_GROUP))
        .values_list("id", flat=True)
    )


def moderates_stream(user, host_id: int | None) -> bool:
    """Moderators moderate every stream; a stream's host moderates their own."""
    return bool(user.is_authenticated and (user.id == host_id or is_moderator(user)))


def may_moderate(user) -> bool:
    """Whether the user can moderate at all, read off the user alone: only active staff
    can (is_moderator then asks whose group they are in)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def is_moderator(user) -> bool:
    return may_moderate(user) and (
        user.is_superuser or user.groups.filter(name=MODERATORS_GROUP).exists()
    )


def blocked_terms() -> TermMatcher:
    """The matcher of the terms blocked now (compiled once per set of terms)."""
    rows = BlockedTerm.objects.order_by("id").values_list("id", "term", "action", "match")
    return _matcher_of_rows(tuple(rows))


@lru_cache(maxsize=8)
def _matcher_of_rows(rows: tuple[tuple[int, str, str, str], ...]) -> TermMatcher:
    # Keyed by the rows as read: the writer asks once a flush, and a tuple of plain tuples
    # hashes in C (10 µs for 200 terms), where building and hashing 200 Terms took 0.4 ms.
    return terms.matcher(tuple(Term(*row) for row in rows))


@dataclass(frozen=True)
class TermHits:
    held: int = 0
    refused: int = 0


def term_hits(term_ids: Iterable[int], since: datetime | None = None) -> dict[int, TermHits]:
    """Comments each term held and refused (since a time, or ever), by term id; one query."""
    rows = BlockedTermHits.objects.filter(term_id__in=list(term_ids))
    if since is not None:
        rows = rows.filter(bucket__gte=since)
    sums = rows.values("term_id").annotate(held=Sum("held"), refused=Sum("refused"))
    return {row["term_id"]: TermHits(row["held"], row["refused"]) for row in sums}


DRY_RUN_COMMENTS = 1000


@dataclass(frozen=True)
class DryRun:
    matched: int
    of: int
    examples: list[str]


def dry_run(term: Term, stream_id: int | None = None) -> DryRun:
    """How many of the last 1,000 comments (on a stream, or anywhere) the term would match."""
    comments = Comment.objects.order_by("-id")
    if stream_id is not None:
        comments = comments.filter(stream_id=stream_id)
    texts = list(comments.values_list("content", flat=True)[:DRY_RUN_COMMENTS])
    one = terms.matcher((term,))
    matched = [text for text in texts if one.find(text) is not None]
    return DryRun(len(matched), len(texts), matched[:3])
