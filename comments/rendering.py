"""Comments as the protocol's Comment objects (SPEC §3), for every edge."""

from datetime import datetime
from typing import Any

from moderation.selectors import Restriction

WireComment = dict[str, Any]


def iso_utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def wire_comment(
    *,
    comment_id: int,
    stream_id: int,
    user_id: int,
    username: str,
    content: str,
    parent_id: int | None,
    is_highlighted: bool,
    is_pinned: bool,
    created_at: datetime,
    received_at: datetime,
    author_role: str,
    edited_at: datetime | None = None,
) -> WireComment:
    return {
        "id": str(comment_id),
        "streamId": str(stream_id),
        "userId": str(user_id),
        "username": username,
        "avatarUrl": None,
        "content": content,
        "parentId": str(parent_id) if parent_id is not None else None,
        "isHighlighted": is_highlighted,
        "isPinned": is_pinned,
        "createdAt": iso_utc(created_at),
        "metadata": {"receivedAt": int(received_at.timestamp() * 1000)},
        "authorRole": author_role,
        "editedAt": None if edited_at is None else int(edited_at.timestamp() * 1000),
    }


def render_comment(comment: Any) -> WireComment:
    """Render a Comment model instance (with its author loaded)."""
    return wire_comment(
        comment_id=comment.id,
        stream_id=comment.stream_id,
        user_id=comment.author_id,
        username=comment.author.username,
        content=comment.content,
        parent_id=comment.parent_id,
        is_highlighted=comment.is_highlighted,
        is_pinned=comment.is_pinned,
        created_at=comment.created_at,
        received_at=comment.received_at,
        author_role=comment.author_role,
        edited_at=comment.edited_at,
    )


def wire_restriction(restriction: Restriction | None) -> dict[str, Any] | None:
    """A user's ban or timeout as the protocol's Restriction (SPEC §3), or None."""
    if restriction is None:
        return None
    until = restriction.until
    return {
        "code": "BANNED",
        "until": None if until is None else int(until.timestamp() * 1000),
        "reason": restriction.reason or None,
    }
