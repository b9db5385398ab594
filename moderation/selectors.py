"""Reads that enforce moderation: bans, blocked terms and who moderates."""

import re
from collections.abc import Iterable
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from .models import Ban, BlockedTerm

MODERATORS_GROUP = "Moderators"


def active_bans(user_ids: Iterable[int], stream_ids: Iterable[int]) -> set[tuple[int, int | None]]:
    """(user id, stream id or None for site-wide) of every ban in force among these."""
    rows = Ban.objects.filter(
        Q(stream_id__in=list(stream_ids)) | Q(stream_id=None),
        Q(expires_at=None) | Q(expires_at__gt=timezone.now()),
        user_id__in=list(user_ids),
    ).values_list("user_id", "stream_id")
    return set(rows)


def is_banned(user_id: int, stream_id: int) -> bool:
    bans = active_bans([user_id], [stream_id])
    return (user_id, stream_id) in bans or (user_id, None) in bans


def is_banned_in(bans: set[tuple[int, int | None]], user_id: int, stream_id: int) -> bool:
    return (user_id, stream_id) in bans or (user_id, None) in bans


def moderator_ids(user_ids: Iterable[int]) -> set[int]:
    """Those of these users who moderate: superusers, and staff in the Moderators group."""
    return set(
        get_user_model()
        .objects.filter(id__in=list(user_ids), is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__name=MODERATORS_GROUP))
        .values_list("id", flat=True)
    )


def is_moderator(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and (user.is_superuser or user.groups.filter(name=MODERATORS_GROUP).exists())
    )


@lru_cache(maxsize=8)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if not terms:
        return None
    alternatives = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
    # Whole words only, so that a blocked "ass" does not refuse "class".
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def blocked_terms_pattern() -> re.Pattern[str] | None:
    terms = tuple(sorted(t.lower() for t in BlockedTerm.objects.values_list("term", flat=True)))
    return _pattern(terms)
