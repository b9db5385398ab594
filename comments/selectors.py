"""Reads of comments: backfill on join (the recent cache first), pinned comments, pages."""

from channels.db import database_sync_to_async
from django.db import DEFAULT_DB_ALIAS

from livecomments.replica import lagging_reads

from . import state
from .models import Comment, ReactionTotal
from .rendering import WireComment, render_comment
from .state.recent import CAPACITY

FRESH_JOIN_COUNT = 50
RESUME_LIMIT = CAPACITY


def visible_comments(stream_id: int):
    return Comment.objects.filter(stream_id=stream_id, is_hidden=False).select_related("author")


def newest_visible(
    stream_id: int, limit: int, after_id: int | None = None, using: str = DEFAULT_DB_ALIAS
) -> list[WireComment]:
    """The newest `limit` visible comments (after `after_id` if given), ascending by id."""
    rows = visible_comments(stream_id).using(using)
    if after_id is not None:
        rows = rows.filter(id__gt=after_id)
    return [render_comment(c) for c in reversed(rows.order_by("-id")[:limit])]


def visible_by_ids(comment_ids: list[int]) -> list[WireComment]:
    rows = Comment.objects.filter(id__in=comment_ids, is_hidden=False).select_related("author")
    return [render_comment(c) for c in rows.order_by("id")]


def reaction_totals(stream_id: int) -> dict[str, int]:
    """The stream's reactions so far (not its comments'), by type."""
    rows = ReactionTotal.objects.filter(stream_id=stream_id, comment=None)
    return dict(rows.values_list("reaction_type", "count"))


def held_comments(stream_id: int) -> list[WireComment]:
    """The stream's held queue, oldest first, each with the reason it is held."""
    rows = Comment.objects.filter(stream_id=stream_id, review=Comment.Review.HELD)
    return [held_comment(c) for c in rows.select_related("author").order_by("id")]


def held_comment(comment: Comment) -> WireComment:
    """A held comment as moderators review it: a held edit shows the text waiting."""
    return {
        **render_comment(comment),
        "content": comment.pending_content or comment.content,
        "heldReason": comment.held_reason,
    }


def pinned_comments(stream_id: int) -> list[WireComment]:
    return [
        render_comment(c) for c in visible_comments(stream_id).filter(is_pinned=True).order_by("id")
    ]


async def backfill(stream_id: int, after_id: int | None) -> list[WireComment]:
    """Backfill for a join (SPEC §3): the newest 50, or up to 1,000 after `after_id`."""
    recent = state.recent_comments()
    generation, cached = await recent.read(stream_id)
    if cached is not None:
        if after_id is None:
            if len(cached.comments) >= FRESH_JOIN_COUNT or cached.floor == 0:
                return cached.comments[-FRESH_JOIN_COUNT:]
        elif after_id >= cached.floor:
            return [c for c in cached.comments if int(c["id"]) > after_id][-RESUME_LIMIT:]
    # From the primary: what is loaded here answers every join until it is invalidated.
    loaded = await database_sync_to_async(newest_visible)(stream_id, CAPACITY)
    await recent.load(stream_id, generation, loaded)
    if after_id is None:
        return loaded[-FRESH_JOIN_COUNT:]
    if len(loaded) < CAPACITY or int(loaded[0]["id"]) <= after_id:
        return [c for c in loaded if int(c["id"]) > after_id]
    # More than the cache holds came after `after_id`: the database has the newest 1,000.
    # This answer is this reader's alone, so it may come from the replica.
    return await database_sync_to_async(newest_visible)(
        stream_id, RESUME_LIMIT, after_id, lagging_reads()
    )
