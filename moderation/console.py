"""The moderation console's shared parts: who may act, the action bar, big tables."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from .models import ModerationAction
from .selectors import is_moderator

SOURCE = ModerationAction.Source.ADMIN

# Counting millions of rows on every page view is what makes admin pages slow; beyond
# this many the page says "more than" and filters narrow the list instead.
COUNT_CAP = 10_000


# Bulk actions loop through the services, one transaction and one event per row: past
# this many rows at once a request would run for minutes, so the action is refused.
MAX_BULK = 500


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows; templates say "more than COUNT_CAP" past that."""

    @cached_property
    def cap(self) -> int:
        return COUNT_CAP

    @cached_property
    def count(self) -> int:
        rows: Any = self.object_list  # a QuerySet: COUNT(*) over a LIMIT subquery
        return rows[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap


def too_many_for_bulk(model_admin, request, queryset) -> bool:
    """Tell the moderator and return True when an action selected more than MAX_BULK rows."""
    if queryset[: MAX_BULK + 1].count() <= MAX_BULK:
        return False
    model_admin.message_user(
        request,
        f"Select at most {MAX_BULK} at a time: each one is logged and sent to viewers.",
        messages.ERROR,
    )
    return True


class ReasonActionForm(helpers.ActionForm):
    """The action bar, with a box for why (it goes into the moderation log)."""

    reason = forms.CharField(
        required=False,
        max_length=500,
        label="Reason",
        widget=forms.TextInput(attrs={"placeholder": "why (for the log)", "size": 30}),
    )


def action_reason(request) -> str:
    return request.POST.get("reason", "").strip()[:500]


def may_moderate(request, perm: str) -> bool:
    """Moderators (staff in the Moderators group, or superusers) holding `perm`."""
    return is_moderator(request.user) and request.user.has_perm(perm)
