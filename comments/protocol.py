"""The WebSocket protocol of SPEC §3, declared once.

Client frames are parsed and validated here (`parse_client_frame`); server frames are
built by `frame()` and described by the models below, from which
`manage.py protocol_types` generates the declarations the browser client is checked
against. Errors are classes carrying their code and whether a retry helps; each edge
renders them in its own format.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from livecomments.errors import ErrorCode, InvalidMessage, LiveCommentsError, RateLimited

MAX_FRAME_BYTES = 64 * 1024
MAX_CONTENT_CHARS = 500
# Content longer than this is a malformed frame, not a comment that breaks the rules.
MAX_RAW_CONTENT_CHARS = 10_000

IdString = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,19}$")]
UuidString = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
    ),
]
# The one list of reaction types: the model's choices, the page and the client follow it.
ReactionTypeName = Literal["like", "love", "haha", "wow", "sad", "angry"]
REACTION_TYPES: tuple[ReactionTypeName, ...] = get_args(ReactionTypeName)
ReportReasonName = Literal["spam", "harassment", "hate", "sexual", "violence", "other"]
REPORT_REASONS: tuple[ReportReasonName, ...] = get_args(ReportReasonName)


# --- Client → server -----------------------------------------------------------------


class _Payload(BaseModel):
    # Unknown fields are ignored so that newer clients keep working with older servers.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class JoinStream(_Payload):
    streamId: IdString
    userId: IdString | None = None
    lastSeenCommentId: IdString | None = None
    # A moderator's or the host's socket: the whole feed, never sampled, and `moderate`.
    moderate: bool = False


class LeaveStream(_Payload):
    pass


class PostComment(_Payload):
    streamId: IdString
    content: Annotated[str, StringConstraints(max_length=MAX_RAW_CONTENT_CHARS)]
    idempotencyKey: UuidString
    parentId: IdString | None = None


class React(_Payload):
    streamId: IdString
    reactionType: ReactionTypeName
    commentId: IdString | None = None


ModerationActionName = Literal[
    "approve",
    "deny",
    "dismiss_reports",
    "pin",
    "unpin",
    "highlight",
    "unhighlight",
    "hide",
    "unhide",
    "timeout",
    "ban",
    "unban",
    "settings",
    "shield_on",
    "shield_off",
]


class SettingsChange(_Payload):
    """The chat settings a moderator changes; those left out stay as they are."""

    slowModeSeconds: Annotated[int, Field(ge=0, le=3600)] | None = None
    locked: bool | None = None
    minAccountAgeMinutes: Annotated[int, Field(ge=0, le=525_600)] | None = None
    holdLinks: bool | None = None


class Moderate(_Payload):
    streamId: IdString
    action: ModerationActionName
    idempotencyKey: UuidString
    commentId: IdString | None = None
    userId: IdString | None = None
    durationSeconds: Annotated[int, Field(ge=1, le=14 * 24 * 3600)] | None = None
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
    settings: SettingsChange | None = None


class EditComment(_Payload):
    """The author edits their comment within 5 minutes of posting; same content rules."""

    streamId: IdString
    commentId: IdString
    content: Annotated[str, StringConstraints(max_length=MAX_RAW_CONTENT_CHARS)]
    idempotencyKey: UuidString


class DeleteComment(_Payload):
    """The author deletes their comment, any time; everyone gets comments_removed."""

    streamId: IdString
    commentId: IdString
    idempotencyKey: UuidString


class ReportComment(_Payload):
    """A signed-in viewer reports a comment; a repeat is acked and not counted."""

    streamId: IdString
    commentId: IdString
    reason: ReportReasonName
    idempotencyKey: UuidString


class ReportLatency(_Payload):
    """Display latencies (ms) the browser measured since its last report (SPEC §6)."""

    samples: Annotated[list[Annotated[int, Field(ge=0, le=3_600_000)]], Field(max_length=500)]


CLIENT_MESSAGES: dict[str, type[_Payload]] = {
    "join_stream": JoinStream,
    "leave_stream": LeaveStream,
    "post_comment": PostComment,
    "react": React,
    "report_latency": ReportLatency,
    "moderate": Moderate,
    "report": ReportComment,
    "delete_comment": DeleteComment,
    "edit_comment": EditComment,
}


def parse_client_frame(text: str | bytes) -> tuple[str, _Payload]:
    """Return (type, payload) of a client frame, or raise InvalidMessage saying what is wrong."""
    if len(text) > MAX_FRAME_BYTES:
        raise InvalidMessage(f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidMessage("The frame is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidMessage('A frame is an object {"type": ..., "payload": {...}}.')
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_MESSAGES:
        raise InvalidMessage(f"Unknown message type {str(kind)[:40]!r}.")
    model = CLIENT_MESSAGES[kind]
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise InvalidMessage("payload must be an object.")
    try:
        return kind, model.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise InvalidMessage(f"{kind}: {where}: {first['msg']}") from None


# --- Server → client -----------------------------------------------------------------


class CommentMetadata(BaseModel):
    receivedAt: int


class CommentOut(BaseModel):
    id: IdString
    streamId: IdString
    userId: IdString
    username: str
    avatarUrl: str | None
    content: str
    parentId: IdString | None
    isHighlighted: bool
    isPinned: bool
    createdAt: str
    metadata: CommentMetadata
    # The author's standing on the stream when they posted, for badges.
    authorRole: Literal["host", "moderator", "viewer"]
    editedAt: int | None  # the author's last edit (ms), or null


class Restriction(BaseModel):
    """A ban (`until` null: until lifted) or a timeout; the user reads on but may not post."""

    code: Literal["BANNED"]
    until: int | None
    reason: str | None


class StreamSettings(BaseModel):
    """A stream's chat modes; the host and moderators are never limited by them."""

    slowModeSeconds: int
    locked: bool
    minAccountAgeMinutes: int
    holdLinks: bool
    shield: bool


class StreamState(BaseModel):
    streamId: IdString
    title: str
    status: Literal["live", "ended"]
    viewerCount: int
    pinnedComments: list[CommentOut]
    # The stream's reactions so far by type; reactions_batch adds each interval's.
    reactionTotals: dict[ReactionTypeName, int]
    # The joining user's ban or timeout on this stream; null for everyone else.
    restriction: Restriction | None
    settings: StreamSettings


class CommentsBatch(BaseModel):
    streamId: IdString
    comments: list[CommentOut]
    isBackfill: bool
    # Live batches only: who numbers them (a gateway's cohort of sockets: the gateway's id
    # and the cohort's number) and the batch number on this stream, which goes up by one
    # per batch. A jump means a batch was lost: resume to recover it.
    gatewayId: str | None = None
    seq: int | None = None


class ReactionsBatch(BaseModel):
    streamId: IdString
    counts: dict[ReactionTypeName, int]
    timestamp: int


class ViewerCount(BaseModel):
    streamId: IdString
    count: int


class Ack(BaseModel):
    idempotencyKey: str
    commentId: IdString | None
    status: Literal["accepted", "held", "rate_limited", "rejected"]
    code: ErrorCode | None = None
    retryAfter: int | None = None


class Error(BaseModel):
    code: ErrorCode
    message: str
    retryable: bool


class CommentUpdated(BaseModel):
    streamId: IdString
    comment: CommentOut


class CommentsRemoved(BaseModel):
    streamId: IdString
    commentIds: list[IdString]


class StreamEndedMessage(BaseModel):
    streamId: IdString


class StreamSettingsMessage(BaseModel):
    streamId: IdString
    settings: StreamSettings


class Report(BaseModel):
    commentId: IdString
    comment: CommentOut
    count: int  # distinct reporters
    reasons: dict[ReportReasonName, int]


class HeldComment(CommentOut):
    """A comment waiting for a moderator (comment_held, moderation_state)."""

    heldReason: str  # the rule that held it, as moderators see it


class CommentHeld(BaseModel):
    streamId: IdString
    comment: HeldComment


class CommentReported(BaseModel):
    streamId: IdString
    report: Report


class CommentReviewed(BaseModel):
    streamId: IdString
    commentId: IdString
    decision: Literal["approved", "denied"]


class ModerationState(BaseModel):
    """To a moderating socket on join, right after stream_state."""

    streamId: IdString
    held: list[HeldComment]
    reports: list[Report]
    settings: StreamSettings


class RestrictionChanged(BaseModel):
    streamId: IdString
    restriction: Restriction | None


SERVER_MESSAGES: dict[str, type[BaseModel]] = {
    "stream_state": StreamState,
    "comments_batch": CommentsBatch,
    "reactions_batch": ReactionsBatch,
    "viewer_count": ViewerCount,
    "ack": Ack,
    "error": Error,
    "comment_updated": CommentUpdated,
    "comments_removed": CommentsRemoved,
    "stream_ended": StreamEndedMessage,
    "restriction_changed": RestrictionChanged,
    "stream_settings": StreamSettingsMessage,
    "moderation_state": ModerationState,
    "comment_held": CommentHeld,
    "comment_reviewed": CommentReviewed,
    "comment_reported": CommentReported,
}


def ack_payload(
    idempotency_key: str,
    comment_id: int | None = None,
    error: LiveCommentsError | None = None,
    *,
    held: bool = False,
) -> dict[str, Any]:
    if error is None:
        return {
            "idempotencyKey": idempotency_key,
            "commentId": None if comment_id is None else str(comment_id),
            "status": "held" if held else "accepted",
        }
    payload: dict[str, Any] = {
        "idempotencyKey": idempotency_key,
        "commentId": None,
        "status": "rate_limited" if isinstance(error, RateLimited) else "rejected",
        "code": error.code.value,
    }
    if error.retry_after is not None:
        payload["retryAfter"] = error.retry_after
    return payload
