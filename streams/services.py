"""Writes of streams: create and end, called the same way by commands, admin and API."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from livecomments.events import publish_on_commit, stream_frame, stream_group
from moderation import audit
from moderation.models import ModerationAction

from .chat_modes import ChatSettings, wire_settings
from .models import Stream

Kind = ModerationAction.Kind


def create_stream(title: str, *, host=None, video_url: str = "", actor=None, source) -> Stream:
    with transaction.atomic():
        stream = Stream.objects.create(title=title, host=host, video_url=video_url)
        audit.record(Kind.CREATE_STREAM, source, actor=actor, stream=stream, title=title)
    return stream


def edit_stream(stream: Stream, fields: list[str]) -> None:
    """Save an edit of the stream's title or video address. A new title reaches the
    gateways, which send it to every later join (they reuse the row between joins)."""
    with transaction.atomic():
        stream.save(update_fields=fields)
        if "title" in fields:
            changed = {"type": "stream.changed", "changes": {"title": stream.title}}
            publish_on_commit(stream_group(stream.id), changed)


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
    return _set_chat_settings(
        stream_id,
        lambda stream: replace(ChatSettings.of(stream), slow_mode_seconds=seconds),
        Kind.SLOW_MODE,
        actor=actor,
        source=source,
        reason=reason,
        seconds=seconds,
    )


def change_chat_settings(
    stream_id: int, changes: dict[str, Any], *, actor=None, source, reason: str = ""
) -> Stream:
    """Change some of a stream's chat settings (ChatSettings field names); viewers are told."""
    unknown = set(changes) - set(ChatSettings().fields())
    if unknown:
        raise ValueError(f"no such chat setting: {', '.join(sorted(unknown))}")
    if any(changes.get(name, 0) < 0 for name in ("slow_mode_seconds", "min_account_age_minutes")):
        raise ValueError("chat settings cannot be negative")
    return _set_chat_settings(
        stream_id,
        lambda stream: replace(ChatSettings.of(stream), **changes),
        Kind.CHAT_SETTINGS,
        actor=actor,
        source=source,
        reason=reason,
        **changes,
    )


def set_shield(stream_id: int, on: bool, *, actor=None, source, reason: str = "") -> Stream:
    """Shield mode on raises the settings to at least its floor; off puts back exactly what
    was there when it went on. Turning it on (or off) again changes nothing."""
    with transaction.atomic():
        stream = Stream.objects.select_for_update().get(id=stream_id)
        if on == (stream.shield_saved is not None):
            return stream
        if on:
            before = ChatSettings.of(stream)
            stream.shield_saved = before.fields()
            after = before.shielded()
        else:
            after = ChatSettings(**(stream.shield_saved or {}))
            stream.shield_saved = None
        kind = Kind.SHIELD_ON if on else Kind.SHIELD_OFF
        _write_chat_settings(stream, after, kind, actor, source, reason, {})
    return stream


def _set_chat_settings(
    stream_id: int,
    settings_of: Callable[[Stream], ChatSettings],
    kind: str,
    *,
    actor,
    source,
    reason: str,
    **details: Any,
) -> Stream:
    with transaction.atomic():
        stream = Stream.objects.select_for_update().get(id=stream_id)
        _write_chat_settings(stream, settings_of(stream), kind, actor, source, reason, details)
    return stream


def _write_chat_settings(stream, settings, kind, actor, source, reason, details) -> None:
    fields = settings.fields()
    for name, value in fields.items():
        setattr(stream, name, value)
    stream.save(update_fields=[*fields, "shield_saved"])
    audit.record(kind, source, actor=actor, stream=stream, reason=reason, **details)
    group = stream_group(stream.id)
    # The gateways' cached stream info (what the hot path reads) first, then the frame
    # every viewer gets.
    changes = {"slow_mode_seconds": settings.slow_mode_seconds}
    publish_on_commit(group, {"type": "stream.changed", "changes": changes})
    publish_on_commit(
        group,
        stream_frame(
            "stream_settings", {"streamId": str(stream.id), "settings": wire_settings(stream)}
        ),
    )
