"""The `moderate` message (SPEC §3): one action from a moderating socket, carried out by
the same services as the admin, the API and the commands, and logged with source SOCKET;
and a viewer's `report`.

Every action is authorised here, on the server, whatever the socket's join said; each is
answered once per idempotency key (a retry after a lost ack gets the same answer and
changes nothing again), remembered by comments.state.answer_once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from comments import state
from comments.models import Comment
from livecomments.errors import Forbidden, InvalidMessage, NotFound, RateLimited
from streams import services as stream_services
from streams.chat_modes import WIRE_NAMES
from streams.models import Stream

from . import services
from .models import ModerationAction
from .selectors import moderates_stream

SOURCE = ModerationAction.Source.SOCKET
REPORTS_PER_WINDOW = 10
REPORT_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class ModerationRequest:
    stream_id: int
    action: str
    idempotency_key: str
    comment_id: int | None = None
    user_id: int | None = None
    duration_seconds: int | None = None
    reason: str = ""
    settings: dict[str, Any] | None = None  # wire names, as the message had them


def moderate(actor, request: ModerationRequest) -> int | None:
    """Carry out one moderation action; return the id of the comment acted on, if any."""

    def act() -> int | None:
        try:
            stream = Stream.objects.only("host_id").get(id=request.stream_id)
        except Stream.DoesNotExist:
            raise NotFound("There is no such stream.") from None
        if not moderates_stream(actor, stream.host_id):
            raise Forbidden("Only moderators and the stream's host moderate it.")
        return ACTIONS[request.action](actor, stream, request)

    return state.answer_once("moderate", actor.id, request.idempotency_key, act)


def report(reporter, stream_id: int, comment_id: int, reason: str, idempotency_key: str) -> None:
    """A viewer's report of a comment (SPEC §3 "Reports"), answered once per key."""

    def act() -> None:
        _count_report(reporter.id)
        services.report_comment(comment_id, reporter=reporter, stream_id=stream_id, reason=reason)

    state.answer_once("report", reporter.id, idempotency_key, act)


def _count_report(user_id: int) -> None:
    """At most REPORTS_PER_WINDOW reports per user per window: reports are for harm, not
    for flooding the moderators' queue."""
    key = f"reports:{user_id}"
    cache.add(key, 0, REPORT_WINDOW_SECONDS)  # the window starts at the first report
    if cache.incr(key) > REPORTS_PER_WINDOW:
        raise RateLimited(REPORT_WINDOW_SECONDS, "You are reporting too fast.")


def _on_comment(service: Callable[..., Comment]) -> Callable[..., int]:
    def act(actor, stream: Stream, request: ModerationRequest) -> int:
        if request.comment_id is None:
            raise InvalidMessage("This action needs a commentId.")
        if not Comment.objects.filter(id=request.comment_id, stream=stream).exists():
            raise NotFound("There is no such comment on this stream.")
        service(request.comment_id, actor=actor, source=SOURCE, reason=request.reason)
        return request.comment_id

    return act


def _user_of(request: ModerationRequest):
    if request.user_id is None:
        raise InvalidMessage("This action needs a userId.")
    try:
        return get_user_model().objects.get(id=request.user_id)
    except get_user_model().DoesNotExist:
        raise NotFound("There is no such user.") from None


def _timeout(actor, stream: Stream, request: ModerationRequest) -> None:
    if request.duration_seconds is None:
        raise InvalidMessage("A timeout needs durationSeconds.")
    ends = timezone.now() + timedelta(seconds=request.duration_seconds)
    services.ban_user(
        _user_of(request),
        stream=stream,
        expires_at=ends,
        reason=request.reason,
        actor=actor,
        source=SOURCE,
    )


def _ban(actor, stream: Stream, request: ModerationRequest) -> None:
    services.ban_user(
        _user_of(request), stream=stream, reason=request.reason, actor=actor, source=SOURCE
    )


def _unban(actor, stream: Stream, request: ModerationRequest) -> None:
    services.unban_user(
        _user_of(request), stream=stream, reason=request.reason, actor=actor, source=SOURCE
    )


def _settings(actor, stream: Stream, request: ModerationRequest) -> None:
    changes = {
        WIRE_NAMES[name]: value
        for name, value in (request.settings or {}).items()
        if value is not None
    }
    stream_services.change_chat_settings(
        stream.id, changes, actor=actor, source=SOURCE, reason=request.reason
    )


def _shield(on: bool) -> Callable[..., None]:
    def act(actor, stream: Stream, request: ModerationRequest) -> None:
        stream_services.set_shield(stream.id, on, actor=actor, source=SOURCE, reason=request.reason)

    return act


# One handler per action of the `moderate` message (comments.protocol.ModerationActionName).
ACTIONS: dict[str, Callable[..., int | None]] = {
    "approve": _on_comment(services.approve_comment),
    "deny": _on_comment(services.deny_comment),
    "dismiss_reports": _on_comment(services.dismiss_reports),
    "pin": _on_comment(services.pin_comment),
    "unpin": _on_comment(services.unpin_comment),
    "highlight": _on_comment(services.highlight_comment),
    "unhighlight": _on_comment(services.unhighlight_comment),
    "hide": _on_comment(services.hide_comment),
    "unhide": _on_comment(services.unhide_comment),
    "timeout": _timeout,
    "ban": _ban,
    "unban": _unban,
    "settings": _settings,
    "shield_on": _shield(True),
    "shield_off": _shield(False),
}
