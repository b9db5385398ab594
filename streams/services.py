"""Writes of streams: create and end, called the same way by commands, admin and API."""

from django.db import transaction
from django.utils import timezone

from livecomments.events import publish_on_commit, stream_frame, stream_group
from moderation import audit
from moderation.models import ModerationAction

from .models import Stream

Kind = ModerationAction.Kind


def create_stream(title: str, *, host=None, video_url: str = "", actor=None, source) -> Stream:
    with transaction.atomic():
        stream = Stream.objects.create(title=title, host=host, video_url=video_url)
        audit.record(Kind.CREATE_STREAM, source, actor=actor, stream=stream, title=title)
    return stream


def end_stream(stream_id: int, *, actor=None, source, reason: str = "") -> Stream:
    """End a live stream and tell every viewer; ending an ended stream changes nothing."""
    with transaction.atomic():
        stream = Stream.objects.select_for_update().get(id=stream_id)
        if not stream.is_live:
            return stream
        stream.status = Stream.Status.ENDED
        stream.ended_at = timezone.now()
        stream.save(update_fields=["status", "ended_at"])
        audit.record(Kind.END_STREAM, source, actor=actor, stream=stream, reason=reason)
        group = stream_group(stream.id)
        publish_on_commit(group, {"type": "stream.changed", "changes": {"status": stream.status}})
        publish_on_commit(group, stream_frame("stream_ended", {"streamId": str(stream.id)}))
    return stream


def set_slow_mode(stream_id: int, seconds: int, *, actor=None, source, reason: str = "") -> Stream:
    """At most one comment per user every `seconds` on this stream (0 turns it off)."""
    if seconds < 0:
        raise ValueError("slow mode seconds cannot be negative")
    with transaction.atomic():
        stream = Stream.objects.select_for_update().get(id=stream_id)
        stream.slow_mode_seconds = seconds
        stream.save(update_fields=["slow_mode_seconds"])
        audit.record(
            Kind.SLOW_MODE, source, actor=actor, stream=stream, reason=reason, seconds=seconds
        )
        publish_on_commit(
            stream_group(stream.id),
            {"type": "stream.changed", "changes": {"slow_mode_seconds": seconds}},
        )
    return stream
