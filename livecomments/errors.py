"""The errors every app raises, each with a stable code (SPEC §3) and whether a retry helps.

The base of the house: every edge renders these in its own format (the WebSocket consumer
as `error` and `ack` frames, the REST API as HTTP status and body). Imports no app.
"""

from enum import StrEnum
from typing import ClassVar


class ErrorCode(StrEnum):
    RATE_LIMITED = "RATE_LIMITED"
    BANNED = "BANNED"
    CONTENT_VIOLATION = "CONTENT_VIOLATION"
    STREAM_ENDED = "STREAM_ENDED"
    UNAUTHORIZED = "UNAUTHORIZED"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    STREAM_NOT_FOUND = "STREAM_NOT_FOUND"
    NOT_JOINED = "NOT_JOINED"
    RESTRICTED = "RESTRICTED"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    # Not in the seed: the database or Redis is unreachable; the post was not stored.
    UNAVAILABLE = "UNAVAILABLE"


class LiveCommentsError(Exception):
    """A refusal with a stable code; `retryable` tells a client whether trying again helps."""

    code: ClassVar[ErrorCode]
    retryable: ClassVar[bool] = False
    default_message: ClassVar[str] = ""
    # Seconds until the refusal stops applying, when that is known (a rate limit, a timeout).
    retry_after: int | None = None

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class RateLimited(LiveCommentsError):
    code = ErrorCode.RATE_LIMITED
    retryable = True
    default_message = "You are commenting too fast."

    def __init__(self, retry_after: int, message: str = "") -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class Banned(LiveCommentsError):
    """A ban, or a timeout (a ban with an end): the user reads on, but may not post or react."""

    code = ErrorCode.BANNED
    default_message = "You are banned from this stream."

    def __init__(self, message: str = "", *, retry_after: int | None = None) -> None:
        if retry_after is not None and not message:
            message = "You are timed out on this stream."
        super().__init__(message)
        self.retry_after = None if retry_after is None else max(1, retry_after)


class ContentViolation(LiveCommentsError):
    code = ErrorCode.CONTENT_VIOLATION
    default_message = "The comment breaks the content rules."


class StreamEnded(LiveCommentsError):
    code = ErrorCode.STREAM_ENDED
    default_message = "The stream has ended."


class Unauthorized(LiveCommentsError):
    code = ErrorCode.UNAUTHORIZED
    default_message = "Log in to do that."


class InvalidMessage(LiveCommentsError):
    code = ErrorCode.INVALID_MESSAGE
    default_message = "The message is not valid."


class StreamNotFound(LiveCommentsError):
    code = ErrorCode.STREAM_NOT_FOUND
    default_message = "There is no such stream."


class NotJoined(LiveCommentsError):
    code = ErrorCode.NOT_JOINED
    default_message = "Join the stream first."


class Restricted(LiveCommentsError):
    """A chat mode refuses the post (a locked chat, an account too new); the message says which."""

    code = ErrorCode.RESTRICTED
    default_message = "The chat's settings do not let you post right now."


class NotFound(LiveCommentsError):
    """An unknown comment or user in an edit, delete, report or moderation."""

    code = ErrorCode.NOT_FOUND
    default_message = "There is no such comment or user."


class Forbidden(LiveCommentsError):
    """A signed-in user who may not do this: not the author, not a moderator."""

    code = ErrorCode.FORBIDDEN
    default_message = "You may not do that."


class Unavailable(LiveCommentsError):
    code = ErrorCode.UNAVAILABLE
    retryable = True
    default_message = "The service is briefly unavailable; try again."


def error_payload(error: LiveCommentsError) -> dict[str, object]:
    return {"code": error.code.value, "message": error.message, "retryable": error.retryable}
