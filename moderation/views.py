"""The live moderation console (SPEC §4): its page, and the JSON of its user card and notes.

The page is a shell: static/livecomments/console.js joins the stream with `moderate: true`
and acts over the socket, where every action is authorised again. These views only decide
who may open it, and serve what the socket does not carry: a user's history and the note
moderators keep on them.
"""

import json
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from comments.models import Comment
from comments.rendering import iso_utc, wire_restriction
from streams.models import Stream

from .models import ModerationAction, ModeratorNote, Report
from .selectors import is_moderator, moderates_stream, restriction_of

# What the card lists: enough to judge a user at a glance, bounded so it stays one query each.
CARD_COMMENTS = 20
CARD_HISTORY = 20
NOTE_MAX_CHARS = 2000
HISTORY_KINDS = [
    ModerationAction.Kind.BAN,
    ModerationAction.Kind.UNBAN,
    ModerationAction.Kind.HIDE,
    ModerationAction.Kind.UNHIDE,
]


def _moderated_stream(request: HttpRequest, stream_id: int) -> tuple[Stream, bool]:
    """The stream, if the signed-in user moderates it (moderators, and its host), and
    whether they are a moderator (who keep notes, and see a user's record everywhere)."""
    stream = get_object_or_404(
        Stream.objects.only("id", "title", "status", "host_id"), pk=stream_id
    )
    moderator = is_moderator(request.user)
    if not (moderator or moderates_stream(request.user, stream.host_id)):
        raise PermissionDenied("Only moderators and the stream's host moderate it.")
    return stream, moderator


@login_required
@require_GET
def console(request: HttpRequest, stream_id: int) -> HttpResponse:
    stream, moderator = _moderated_stream(request, stream_id)
    user = request.user
    config = {
        # Ids travel as strings, as in the protocol.
        "streamId": str(stream.id),
        "socketPath": "/ws/live/",
        "user": {"id": str(user.pk), "username": user.get_username()},
        # The card of user N is usersUrl + "N/", their note usersUrl + "N/note/".
        "usersUrl": reverse("moderation:console", args=[stream.id]) + "users/",
        # Notes are about a user across every stream: moderators keep them, hosts do not.
        "keepsNotes": moderator,
        # Blocked terms apply to every stream: moderators keep them (over the REST API, as
        # the admin and the API do), a stream's host does not.
        "terms": {
            "url": reverse("api:blocked-terms"),
            "checkUrl": reverse("api:blocked-term-check"),
        }
        if moderator
        else None,
        "csrfToken": get_token(request),
    }
    return render(request, "moderation/console.html", {"stream": stream, "console_config": config})


def _json_forbidden(request: HttpRequest, stream_id: int) -> JsonResponse | tuple[Stream, bool]:
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Log in to moderate."}, status=403)
    try:
        return _moderated_stream(request, stream_id)
    except PermissionDenied as refused:
        return JsonResponse({"error": str(refused)}, status=403)


@require_GET
def user_card(request: HttpRequest, stream_id: int, user_id: int) -> JsonResponse:
    """A user as a moderator of this stream sees them: a fixed number of queries."""
    allowed = _json_forbidden(request, stream_id)
    if isinstance(allowed, JsonResponse):
        return allowed
    stream, keeps_notes = allowed
    users = get_user_model().objects.all()
    if keeps_notes:
        users = users.select_related("moderator_note__updated_by")
    target = get_object_or_404(users, pk=user_id)
    theirs = Comment.objects.filter(author_id=target.pk, stream_id=stream.id)
    counts = theirs.aggregate(total=Count("id"), hidden=Count("id", filter=Q(is_hidden=True)))
    # Reports they made (an abusive reporter shows here) and open ones on their comments here.
    reports = Report.objects.aggregate(
        made=Count("id", filter=Q(reporter_id=target.pk)),
        against=Count(
            "id",
            filter=Q(comment__author_id=target.pk, comment__stream_id=stream.id, dismissed=False),
        ),
    )
    recent = theirs.order_by("-id").values(
        "id", "content", "created_at", "is_hidden", "is_pinned", "is_highlighted"
    )[:CARD_COMMENTS]
    history = ModerationAction.objects.filter(target_user_id=target.pk, kind__in=HISTORY_KINDS)
    if not keeps_notes:
        # A host sees what happened on their own stream, not the user's record elsewhere.
        history = history.filter(stream_id=stream.id)
    history = history.select_related("actor", "stream").only(
        "kind", "created_at", "reason", "details", "comment_id", "actor__username", "stream__title"
    )[:CARD_HISTORY]
    joined: datetime = target.date_joined
    return JsonResponse(
        {
            "user": {
                "id": str(target.pk),
                "username": target.get_username(),
                "dateJoined": iso_utc(joined),
                "accountAgeMinutes": int((timezone.now() - joined).total_seconds() // 60),
                "isHost": target.pk == stream.host_id,
            },
            "restriction": wire_restriction(restriction_of(target.pk, stream.id)),
            "commentCount": counts["total"],
            "hiddenCount": counts["hidden"],
            "reportsMade": reports["made"],
            "reportsAgainst": reports["against"],
            "comments": [
                {
                    "id": str(row["id"]),
                    "content": row["content"],
                    "createdAt": iso_utc(row["created_at"]),
                    "isHidden": row["is_hidden"],
                    "isPinned": row["is_pinned"],
                    "isHighlighted": row["is_highlighted"],
                }
                for row in recent
            ],
            "history": [_history_entry(action) for action in history],
            "note": _note(getattr(target, "moderator_note", None)) if keeps_notes else None,
        }
    )


def _history_entry(action: ModerationAction) -> dict:
    kind = action.kind
    until = action.details.get("expires_at") if kind == ModerationAction.Kind.BAN else None
    return {
        # A timeout is a ban with an end (moderation.services.ban_user).
        "kind": "timeout" if until else kind,
        "at": iso_utc(action.created_at),
        "by": action.actor.get_username() if action.actor else None,
        "reason": action.reason,
        "until": until,
        "siteWide": bool(action.details.get("site_wide")),
        "stream": action.stream.title if action.stream else None,
        "commentId": str(action.comment_id) if action.comment_id else None,
    }


def _note(note: ModeratorNote | None) -> dict:
    if note is None:
        return {"text": "", "updatedBy": None, "updatedAt": None}
    return {
        "text": note.text,
        "updatedBy": note.updated_by.get_username() if note.updated_by else None,
        "updatedAt": iso_utc(note.updated_at),
    }


@require_POST
def user_note(request: HttpRequest, stream_id: int, user_id: int) -> JsonResponse:
    """Save the moderators' note on a user: {"text": "..."}, empty to clear it."""
    allowed = _json_forbidden(request, stream_id)
    if isinstance(allowed, JsonResponse):
        return allowed
    if not allowed[1]:
        return JsonResponse({"error": "Only moderators keep notes on users."}, status=403)
    try:
        text = json.loads(request.body)["text"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": 'Send {"text": "..."}.'}, status=400)
    if not isinstance(text, str) or len(text) > NOTE_MAX_CHARS:
        return JsonResponse(
            {"error": f"A note is at most {NOTE_MAX_CHARS} characters."}, status=400
        )
    if not get_user_model().objects.filter(pk=user_id).exists():
        raise Http404("There is no such user.")
    note, _ = ModeratorNote.objects.update_or_create(
        user_id=user_id, defaults={"text": text.strip(), "updated_by": request.user}
    )
    return JsonResponse({"note": _note(note)})
