"""Reads that may lag go to the replica (DATABASE_REPLICA_URL, SPEC §2); all else to the primary.

Callers choose, by name: `.using(lagging_reads())` on a list, a replay, a resume beyond the
recent cache. Never for the rules of a post (stream state, bans, blocked terms), for
idempotency, or for what fills the shared recent-comments cache: a lagging answer there
would be wrong for everyone, not late for one reader. With no replica, it is the primary.
"""

from django.conf import settings
from django.contrib.admin.views.main import ChangeList


def lagging_reads() -> str:
    """The database alias for reads that may lag behind writes."""
    return settings.LAGGING_READS


class LaggingChangeList(ChangeList):
    """An admin list read from the replica: the big, growing tables' lists and counts.

    Actions on the selected rows go through services, which read and write the primary.
    """

    def get_queryset(self, request, exclude_parameters=None):
        self.root_queryset = self.root_queryset.using(lagging_reads())
        return super().get_queryset(request, exclude_parameters)
