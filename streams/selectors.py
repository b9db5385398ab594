"""Reads of streams, shared by pages, the API and the gateway."""

from asgiref.sync import async_to_sync

from comments import state
from livecomments.replica import lagging_reads

from .models import Stream


def live_first():
    """Streams for the front page and the API's list: live ones first, newest first within each.

    A list, so from the replica when there is one: a stream started a moment ago may be
    missing for that moment.
    """
    streams = Stream.objects.using(lagging_reads()).select_related("host")
    return streams.order_by("-status", "-created_at")


def viewer_counts(stream_ids: list[int]) -> dict[int, int]:
    """Sockets joined to each stream across every gateway (from synchronous code)."""
    return async_to_sync(state.viewer_registry().totals)(list(stream_ids))
