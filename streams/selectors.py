"""Reads of streams, shared by pages, the API and the gateway."""

from asgiref.sync import async_to_sync

from comments import state

from .models import Stream


def live_first():
    """Streams for the front page: live ones first, newest first within each."""
    return Stream.objects.select_related("host").order_by("-status", "-created_at")


def viewer_counts(stream_ids: list[int]) -> dict[int, int]:
    """Sockets joined to each stream across every gateway (from synchronous code)."""
    return async_to_sync(state.viewer_registry().totals)(list(stream_ids))
