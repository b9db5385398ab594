"""An author edits their own comment (SPEC §3 "Edit and delete"): within 5 minutes of
posting, through the same content rules as a post, read the writer's way (rule_reads). An
edit a rule holds keeps the old text visible until a moderator approves the new one."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from livecomments.errors import Banned, ContentViolation, Forbidden, NotFound, StreamEnded
from livecomments.events import moderators_frame, publish_on_commit, stream_frame, stream_group
from moderation import term_hits
from moderation.holding import HoldRules, hold_reason
from moderation.selectors import restriction_in
from moderation.terms import REJECT

from . import rule_reads, state
from .models import Comment
from .rendering import render_comment
from .rules import clean_content
from .selectors import held_comment

EDIT_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Edited:
    comment_id: int
    held: bool  # the new text waits for a moderator; everyone still sees the old one


def edit_comment(user_id: int, stream_id: int, comment_id: int, content: str) -> Edited:
    text = clean_content(content)
    with transaction.atomic():
        edited = _edit(user_id, stream_id, comment_id, text)
    if isinstance(edited, ContentViolation):
        raise edited
    return edited


def _edit(user_id: int, stream_id: int, comment_id: int, text: str) -> Edited | ContentViolation:
    """Edit in the caller's transaction; a blocked term's refusal is returned, not raised."""
    comment = (
        Comment.objects.select_for_update(of=("self",))
        .select_related("author")
        .filter(id=comment_id, stream_id=stream_id, is_hidden=False)
        .first()
    )
    if comment is None:
        raise NotFound("There is no such comment on this stream.")
    if comment.author_id != user_id:
        raise Forbidden("Only its author may edit a comment.")
    now = timezone.now()
    if now - comment.created_at > EDIT_WINDOW:
        raise Forbidden("Comments can be edited for 5 minutes after posting.")
    # In this transaction, as rule_reads requires: the rules as of now, from memory while
    # nothing they read has changed.
    reads = rule_reads.current()
    stream = reads.streams([stream_id])[stream_id]  # there: the comment locked above is on it
    if not stream.is_live:
        raise StreamEnded()
    restriction = restriction_in(reads.bans([user_id], now), user_id, stream_id)
    if restriction is not None:
        raise Banned(retry_after=restriction.seconds_left(now))
    term = reads.blocked_terms().find(text)
    if term is not None and term.action == REJECT:
        # A refused edit is a hit, as a refused post is; the caller raises the refusal
        # after the commit, which a raise here would roll back with the count.
        term_hits.count({}, {term.id: 1}, now)
        return ContentViolation("The comment contains a blocked term.")
    staff = user_id == stream.host_id or user_id in reads.moderators([user_id])
    rules = HoldRules(stream.hold_links, stream.shield_saved is not None)
    held = None if staff else hold_reason(rules, text, first_here=False, term=term)
    group = stream_group(stream_id)
    if held is not None:
        comment.pending_content = text
        comment.review = Comment.Review.HELD
        comment.held_reason = f"edit: {held}"
        comment.save(update_fields=["pending_content", "review", "held_reason"])
        if term is not None:  # a hold term (a reject one returned above) held it
            term_hits.count({term.id: 1}, {}, now)
        waiting = held_comment(comment)
        publish_on_commit(
            group,
            moderators_frame("comment_held", {"streamId": str(stream_id), "comment": waiting}),
        )
        return Edited(comment.id, held=True)
    apply_edit(comment, text, now)
    return Edited(comment.id, held=False)


def apply_edit(comment: Comment, text: str, when) -> None:
    """Put the new text out: stored, the cache dropped, comment_updated to everyone."""
    comment.content = text
    comment.edited_at = when
    comment.pending_content = ""
    comment.save(update_fields=["content", "edited_at", "pending_content"])
    state.invalidate_recent_on_commit(comment.stream_id)
    publish_on_commit(
        stream_group(comment.stream_id),
        stream_frame(
            "comment_updated",
            {"streamId": str(comment.stream_id), "comment": render_comment(comment)},
        ),
    )
