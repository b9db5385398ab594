"""Writes of the live path: join, post and react, in the seed's order (SPEC §3).

Every edge (the WebSocket consumer, the REST API) calls these; the rules live here once.
"""

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from livecomments.errors import (
    Forbidden,
    NotFound,
    StreamEnded,
    StreamNotFound,
    Unauthorized,
)
from livecomments.events import publish_on_commit, stream_frame, stream_group
from moderation.reports import open_reports
from moderation.selectors import Restriction, moderates_stream, restriction_of
from streams.chat_modes import wire_settings
from streams.models import Stream

from . import edits, state
from .delivery import Socket, StreamInfo, StreamRoom, StreamSnapshot
from .edits import Edited
from .gateway import gateway
from .models import Comment
from .rendering import WireComment
from .selectors import backfill, held_comments, pinned_comments
from .writer import CommentWriter, Post


@dataclass(frozen=True)
class Author:
    id: int
    username: str
    moderates: bool = False  # a moderator: never limited by chat modes

    @classmethod
    def of(cls, user, *, moderates: bool = False) -> "Author":
        if user is None or not user.is_authenticated:
            raise Unauthorized()
        return cls(user.id, user.get_username(), moderates)


def load_stream_info(stream_id: int) -> StreamInfo:
    return _info_of(_load_stream(stream_id))


def _load_stream(stream_id: int) -> Stream:
    try:
        return Stream.objects.get(id=stream_id)
    except Stream.DoesNotExist:
        raise StreamNotFound() from None


def _info_of(stream: Stream) -> StreamInfo:
    return StreamInfo(
        stream_id=stream.id,
        title=stream.title,
        status=stream.status,
        host_id=stream.host_id,
        slow_mode_seconds=stream.slow_mode_seconds,
    )


def _read_stream(stream_id: int) -> StreamSnapshot:
    stream = _load_stream(stream_id)
    return StreamSnapshot(_info_of(stream), wire_settings(stream), pinned_comments(stream_id))


def _open_stream(
    stream_id: int, user, moderating: bool, known: StreamSnapshot | None
) -> tuple[StreamSnapshot, Restriction | None]:
    """The stream's row (read unless `known`), once `user` may join it as asked; and the
    user's ban or timeout there."""
    stream = known or _read_stream(stream_id)
    if moderating and not moderates_stream(user, stream.info.host_id):
        raise Forbidden("Only moderators and the stream's host may moderate it.")
    # A banned or timed-out user joins and reads like anyone else (SPEC §3).
    user_id = user.id if user is not None and user.is_authenticated else None
    return stream, restriction_of(user_id, stream_id) if user_id is not None else None


async def _stream_for_join(
    stream_id: int, user, moderating: bool
) -> tuple[StreamSnapshot, Restriction | None]:
    """The stream's row for a join, no older than a read one hop before the join (as when
    every join read it), and the user's ban there.

    In a join storm the row is read once every SNAPSHOT_SECONDS, not per socket: an
    anonymous viewer joins without a query, a signed-in one reads only their ban.
    """
    known, mark = gateway().snapshot(stream_id)
    if known is not None and not moderating and (user is None or not user.is_authenticated):
        return known, None
    read_at = time.monotonic()
    stream, restriction = await database_sync_to_async(_open_stream)(
        stream_id, user, moderating, known
    )
    if known is None:
        if mark is not None:
            gateway().keep_snapshot(stream, mark, read_at)
    elif gateway().snapshot(stream_id)[0] is not known:
        # The room heard of a change while the ban was read: the copy may predate it, and
        # this socket, not yet in the room, missed the change's frame. Read the row.
        stream = await database_sync_to_async(_read_stream)(stream_id)
    return stream, restriction


@dataclass(frozen=True)
class JoinSnapshot:
    """What a socket that joins a stream is sent first: its state, then the backfill."""

    room: StreamRoom
    info: StreamInfo
    settings: dict[str, Any]  # the protocol's StreamSettings
    viewer_count: int
    pinned: list[WireComment]
    backfill: list[WireComment]
    restriction: Restriction | None  # the joining user's ban or timeout here
    moderating: bool  # a moderator's or the host's socket: moderation_state follows
    held: list[WireComment]  # for a moderating socket: the held queue, oldest first
    reports: list[dict[str, Any]]  # for a moderating socket: reported comments, most first
    reaction_totals: dict[str, int]  # the stream's reactions so far, by type


async def join_stream(
    socket: Socket, stream_id: int, user, last_seen_comment_id: int | None, *, moderating: bool
) -> JoinSnapshot:
    """Check that `user` may watch (or moderate) the stream, add `socket` to its room, and
    return the snapshot.

    Frames of the stream reach `socket` from the moment it joins: it holds them until it
    has sent the snapshot.
    """
    stream, restriction = await _stream_for_join(stream_id, user, moderating)
    room = await gateway().join(socket, stream.info, moderating=moderating)
    viewer_count = room.viewer_count
    reactions_so_far = dict(room.reaction_totals)
    try:
        comments = await backfill(stream_id, last_seen_comment_id)
        held, reports = (
            await database_sync_to_async(_review_queues)(stream_id) if moderating else ([], [])
        )
    except BaseException:
        # Refused (Redis or the database is down), the socket is in no room: left here, it
        # would stay after it closed, and its next join would add it to a second cohort,
        # which sends it every comment twice.
        room.remove(socket)
        raise
    return JoinSnapshot(
        room=room,
        info=stream.info,
        settings=stream.settings,
        viewer_count=viewer_count,
        pinned=stream.pinned,
        backfill=comments,
        restriction=restriction,
        moderating=moderating,
        held=held,
        reports=reports,
        reaction_totals=reactions_so_far,
    )


def _review_queues(stream_id: int) -> tuple[list[WireComment], list[dict[str, Any]]]:
    return held_comments(stream_id), open_reports(stream_id)


async def current_restriction(user_id: int, stream_id: int) -> Restriction | None:
    """The user's ban or timeout on the stream as it stands now."""
    return await database_sync_to_async(restriction_of)(user_id, stream_id)


@dataclass(frozen=True)
class Posted:
    comment_id: int
    held: bool  # stored, but shown to nobody until a moderator approves it


async def post_comment(
    author: Author,
    stream: StreamInfo,
    content: str,
    idempotency_key: str,
    parent_id: int | None,
    received_at: datetime,
    *,
    from_thread: bool = False,
) -> Posted:
    """Store a comment and queue it for broadcast (or hold it); return it once committed.

    `from_thread`: called from a synchronous view's thread (CommentWriter.submit).
    """
    key = str(idempotency_key).lower()
    writer = gateway().writer
    return await writer.once(
        author.id,
        key,
        lambda: _post_new(
            writer, author, stream, content, key, parent_id, received_at, from_thread
        ),
    )


async def _post_new(
    writer: CommentWriter,
    author: Author,
    stream: StreamInfo,
    content: str,
    key: str,
    parent_id: int | None,
    received_at: datetime,
    from_thread: bool,
) -> Posted:
    # The rate limits, then the content rule and whether the stream is live, are the
    # flush's to decide: a retry of a key that stored a comment is answered with it even
    # once the stream has ended.
    exempt = author.moderates or author.id == stream.host_id
    stored = await writer.submit(
        Post(
            author_id=author.id,
            username=author.username,
            stream_id=stream.stream_id,
            content=content,
            idempotency_key=key,
            parent_id=parent_id,
            received_at=received_at,
            slow_mode_seconds=0 if exempt else stream.slow_mode_seconds,
        ),
        from_thread=from_thread,
    )
    return Posted(stored.comment_id, stored.held_reason is not None)


async def react(
    user,
    room: StreamRoom,
    reaction_type: str,
    comment_id: int | None,
    restriction: Restriction | None,
) -> None:
    """Count a reaction; floods from one user, and a banned user's, are dropped without a
    word (SPEC §3)."""
    author = Author.of(user)
    if room.info is not None and room.info.status != Stream.Status.LIVE:
        raise StreamEnded()
    if restriction is not None and restriction.in_force(timezone.now()):
        return
    room.reactions.add(room.stream_id, author.id, reaction_type, comment_id)


def _delete_comment(user_id: int, stream_id: int, comment_id: int) -> None:
    with transaction.atomic():
        comment = (
            Comment.objects.select_for_update()
            .filter(id=comment_id, stream_id=stream_id, deleted_at=None)
            .first()
        )
        if comment is None:
            raise NotFound("There is no such comment on this stream.")
        if comment.author_id != user_id:
            raise Forbidden("Only its author may delete a comment.")
        comment.deleted_at = timezone.now()
        comment.is_hidden = True
        # Out of the held queue too: there is nothing left to decide.
        comment.review = Comment.Review.NONE
        comment.save(update_fields=["deleted_at", "is_hidden", "review"])
        state.invalidate_recent_on_commit(stream_id, hidden_ids=[comment_id])
        # Viewers drop it; consoles drop it from the feed and the held queue.
        publish_on_commit(
            stream_group(stream_id),
            stream_frame(
                "comments_removed", {"streamId": str(stream_id), "commentIds": [str(comment_id)]}
            ),
        )


async def delete_comment(user, stream_id: int, comment_id: int, idempotency_key: str) -> None:
    """Delete the user's own comment (SPEC §3), once per key."""
    author = Author.of(user)

    def delete() -> None:
        _delete_comment(author.id, stream_id, comment_id)

    await database_sync_to_async(state.answer_once)("delete", author.id, idempotency_key, delete)


async def edit_comment(
    user, stream_id: int, comment_id: int, content: str, idempotency_key: str
) -> Edited:
    """Edit the user's own comment (SPEC §3), once per key."""
    author = Author.of(user)

    def edit() -> Edited:
        return edits.edit_comment(author.id, stream_id, comment_id, content)

    return await database_sync_to_async(state.answer_once)("edit", author.id, idempotency_key, edit)
