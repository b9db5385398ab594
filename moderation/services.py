"""Writes of moderation: comment flags, bans and blocked terms (SPEC §3 "Moderation is live").

The admin, the REST API and the commands all call these. Each one writes in one
transaction, records the action in the moderation log, and tells viewers only after the
commit: frames to the stream's group, `user.restriction` to the user's sockets, and an
invalidation of the recent-comments cache so that the next backfill is current. Doing
what is already done (pinning a pinned comment) changes nothing and logs nothing.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from comments import state
from comments.edits import apply_edit
from comments.models import Comment
from comments.rendering import render_comment
from comments.selectors import held_comment
from livecomments.errors import Forbidden, NotFound
from livecomments.events import (
    moderators_frame,
    publish_on_commit,
    stream_frame,
    stream_group,
    user_frame,
    user_group,
)

from . import audit
from .models import Ban, BlockedTerm, ModerationAction, Report
from .reports import open_report

Kind = ModerationAction.Kind


# --- comments --------------------------------------------------------------------------


def pin_comment(comment_id: int, *, actor=None, source, reason: str = "") -> Comment:
    return _set_flag(comment_id, "is_pinned", True, Kind.PIN, actor, source, reason)


def unpin_comment(comment_id: int, *, actor=None, source, reason: str = "") -> Comment:
    return _set_flag(comment_id, "is_pinned", False, Kind.UNPIN, actor, source, reason)


def highlight_comment(comment_id: int, *, actor=None, source, reason: str = "") -> Comment:
    return _set_flag(comment_id, "is_highlighted", True, Kind.HIGHLIGHT, actor, source, reason)


def unhighlight_comment(comment_id: int, *, actor=None, source, reason: str = "") -> Comment:
    return _set_flag(comment_id, "is_highlighted", False, Kind.UNHIGHLIGHT, actor, source, reason)


def hide_comment(comment_id: int, *, actor=None, source, reason: str = "") -> Comment:
    """Hide a comment from every viewer: live feeds drop it, backfill and the API skip it."""
    return _set_flag(comment_id, "is_hidden", True, Kind.HIDE, actor, source, reason)


def unhide_comment(comment_id: int, *, actor=None, source, reason: str = "") -> Comment:
    return _set_flag(comment_id, "is_hidden", False, Kind.UNHIDE, actor, source, reason)


def _set_flag(comment_id, field, value, kind, actor, source, reason) -> Comment:
    with transaction.atomic():
        comment = (
            Comment.objects.select_for_update(of=("self",))
            .select_related("author", "stream")
            .get(id=comment_id)
        )
        if getattr(comment, field) == value:
            return comment
        if field == "is_hidden" and (
            comment.review in (Comment.Review.HELD, Comment.Review.DENIED)
            or comment.deleted_at is not None
        ):
            return comment  # held and denied come out only by approval; deleted, never
        setattr(comment, field, value)
        comment.save(update_fields=[field])
        audit.record(
            kind,
            source,
            actor=actor,
            stream=comment.stream,
            target_user=comment.author,
            comment_id=comment.id,
            reason=reason,
        )
        group = stream_group(comment.stream_id)
        if field == "is_hidden":
            ids = [comment.id]
            state.invalidate_recent_on_commit(
                comment.stream_id, hidden_ids=ids if value else (), shown_ids=() if value else ids
            )
            if value:
                publish_on_commit(group, _removed_frame(comment.stream_id, ids))
            else:
                # Viewers who still show it update it; everyone else gets it on the next join.
                publish_on_commit(group, _updated_frame(comment))
        else:
            state.invalidate_recent_on_commit(comment.stream_id)
            if not comment.is_hidden:
                publish_on_commit(group, _updated_frame(comment))
    return comment


def approve_comment(comment_id: int, *, actor=None, source, reason: str = "") -> Comment:
    """Let a held comment out: it goes out in the live feed, then is in backfill and the API."""
    return _review(comment_id, Comment.Review.APPROVED, Kind.APPROVE, actor, source, reason)


def deny_comment(comment_id: int, *, actor=None, source, reason: str = "") -> Comment:
    """Keep a held comment from everyone, for good."""
    return _review(comment_id, Comment.Review.DENIED, Kind.DENY, actor, source, reason)


def _review(comment_id, decision, kind, actor, source, reason) -> Comment:
    with transaction.atomic():
        comment = (
            Comment.objects.select_for_update(of=("self",))
            .select_related("author", "stream")
            .get(id=comment_id)
        )
        if comment.review != Comment.Review.HELD:
            return comment  # decided already, or never held: nothing changes
        audit.record(
            kind,
            source,
            actor=actor,
            stream=comment.stream,
            target_user=comment.author,
            comment_id=comment.id,
            reason=reason,
            held_reason=comment.held_reason,
        )
        if comment.pending_content:
            return _review_edit(comment, decision)
        comment.review = decision
        comment.is_hidden = decision != Comment.Review.APPROVED
        comment.save(update_fields=["review", "is_hidden"])
        stream_id = comment.stream_id
        if decision == Comment.Review.APPROVED:
            state.invalidate_recent_on_commit(stream_id, shown_ids=[comment.id])
            # Outside any gateway's numbering: a live batch of its own, which every gateway
            # writes to every socket of the stream as is.
            publish_on_commit(
                stream_group(stream_id),
                stream_frame(
                    "comments_batch",
                    {
                        "streamId": str(stream_id),
                        "comments": [render_comment(comment)],
                        "isBackfill": False,
                    },
                ),
            )
        _tell_reviewed(comment, decision)
    return comment


# --- reports -----------------------------------------------------------------------------


def report_comment(comment_id: int, *, reporter, stream_id: int, reason: str) -> bool:
    """Count a viewer's report of a comment on the stream; return False for a repeat.

    Moderating sockets are told each time the count changes; at the threshold of distinct
    reporters the comment leaves the feed and is held for review ("reported").
    """
    with transaction.atomic():
        comment = (
            Comment.objects.select_for_update(of=("self",))
            .select_related("author", "stream")
            .filter(id=comment_id, stream_id=stream_id)
            .first()
        )
        if comment is None:
            raise NotFound("There is no such comment on this stream.")
        if comment.author_id == reporter.id:
            raise Forbidden("You cannot report your own comment.")
        if Report.objects.filter(comment=comment, reporter=reporter, dismissed=False).exists():
            return False
        Report.objects.create(comment=comment, reporter=reporter, reason=reason)
        report = open_report(comment)
        publish_on_commit(
            stream_group(stream_id),
            moderators_frame("comment_reported", {"streamId": str(stream_id), "report": report}),
        )
        threshold = settings.LIVE_COMMENTS["REPORT_HOLD_THRESHOLD"]
        if report["count"] >= threshold and not comment.is_hidden:
            _hold_reported(comment)
    return True


def _hold_reported(comment: Comment) -> None:
    comment.is_hidden = True
    comment.review = Comment.Review.HELD
    comment.held_reason = "reported"
    comment.save(update_fields=["is_hidden", "review", "held_reason"])
    group = stream_group(comment.stream_id)
    state.invalidate_recent_on_commit(comment.stream_id, hidden_ids=[comment.id])
    publish_on_commit(group, _removed_frame(comment.stream_id, [comment.id]))
    held = held_comment(comment)
    publish_on_commit(
        group,
        moderators_frame("comment_held", {"streamId": str(comment.stream_id), "comment": held}),
    )


def dismiss_reports(comment_id: int, *, actor=None, source, reason: str = "") -> Comment:
    """Clear a comment's open reports: moderators looked and found nothing to do."""
    with transaction.atomic():
        comment = Comment.objects.select_related("author", "stream").get(id=comment_id)
        dismissed = Report.objects.filter(comment=comment, dismissed=False).update(dismissed=True)
        if dismissed:
            audit.record(
                Kind.DISMISS_REPORTS,
                source,
                actor=actor,
                stream=comment.stream,
                target_user=comment.author,
                comment_id=comment.id,
                reason=reason,
                reports=dismissed,
            )
            publish_on_commit(
                stream_group(comment.stream_id),
                moderators_frame(
                    "comment_reported",
                    {"streamId": str(comment.stream_id), "report": open_report(comment)},
                ),
            )
    return comment


def _tell_reviewed(comment: Comment, decision) -> None:
    """comment_reviewed to the author's sockets and the stream's moderating sockets."""
    reviewed = {
        "streamId": str(comment.stream_id),
        "commentId": str(comment.id),
        "decision": str(decision),
    }
    publish_on_commit(user_group(comment.author_id), user_frame("comment_reviewed", reviewed))
    publish_on_commit(
        stream_group(comment.stream_id), moderators_frame("comment_reviewed", reviewed)
    )


def _review_edit(comment: Comment, decision) -> Comment:
    """An edit a rule held: approved, the new text goes out; denied, the old one stays."""
    comment.review = Comment.Review.NONE
    comment.held_reason = ""
    comment.save(update_fields=["review", "held_reason"])
    if decision == Comment.Review.APPROVED:
        apply_edit(comment, comment.pending_content, timezone.now())
    else:
        comment.pending_content = ""
        comment.save(update_fields=["pending_content"])
    _tell_reviewed(comment, decision)
    return comment


def _updated_frame(comment: Comment):
    return stream_frame(
        "comment_updated", {"streamId": str(comment.stream_id), "comment": render_comment(comment)}
    )


def _removed_frame(stream_id: int, comment_ids: Sequence[int]):
    return stream_frame(
        "comments_removed",
        {"streamId": str(stream_id), "commentIds": [str(i) for i in comment_ids]},
    )


# --- bans --------------------------------------------------------------------------------


def ban_user(
    user,
    *,
    stream=None,
    expires_at: datetime | None = None,
    reason: str = "",
    remove_comments: bool = False,
    actor=None,
    source,
) -> Ban:
    """Ban `user` from `stream` (site-wide when None) until `expires_at` (None: for good).

    A ban replaces the user's earlier ban of the same scope. Their open sockets on the
    stream (every stream, site-wide) are told their restriction and read on; with `remove_comments`
    their visible comments there are hidden from every viewer.
    """
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("a ban's expiry must be in the future")
    stream_id = stream.id if stream is not None else None
    with transaction.atomic():
        Ban.objects.filter(user=user, stream=stream).delete()
        ban = Ban.objects.create(
            user=user,
            stream=stream,
            expires_at=expires_at,
            reason=reason,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        removed = _remove_comments_of(user.id, stream_id) if remove_comments else {}
        audit.record(
            Kind.BAN,
            source,
            actor=actor,
            stream=stream,
            target_user=user,
            reason=reason,
            site_wide=stream is None,
            expires_at=expires_at.isoformat() if expires_at else None,
            removed_comments=sum(len(ids) for ids in removed.values()),
        )
        publish_on_commit(user_group(user.id), _restriction_changed(stream_id))
        for removed_stream_id, ids in removed.items():
            state.invalidate_recent_on_commit(removed_stream_id, hidden_ids=ids)
            publish_on_commit(
                stream_group(removed_stream_id), _removed_frame(removed_stream_id, ids)
            )
    return ban


def _restriction_changed(stream_id: int | None) -> dict:
    """Tells the user's sockets on the stream (on every stream: None) to read their restriction."""
    return {"type": "user.restriction", "streamId": stream_id}


def _remove_comments_of(user_id: int, stream_id: int | None) -> dict[int, list[int]]:
    """Hide the user's visible comments (in one stream, or everywhere); return them by stream."""
    rows = Comment.objects.filter(author_id=user_id, is_hidden=False)
    if stream_id is not None:
        rows = rows.filter(stream_id=stream_id)
    by_stream: dict[int, list[int]] = defaultdict(list)
    for comment_id, comment_stream_id in rows.values_list("id", "stream_id"):
        by_stream[comment_stream_id].append(comment_id)
    ids = [i for group in by_stream.values() for i in group]
    if ids:
        Comment.objects.filter(id__in=ids).update(is_hidden=True)
    return dict(by_stream)


def unban_user(user, *, stream=None, actor=None, source, reason: str = "") -> int:
    """Lift the user's bans of this scope (the stream, or the site-wide one); return how many."""
    with transaction.atomic():
        lifted, _ = Ban.objects.filter(user=user, stream=stream).delete()
        if lifted:
            audit.record(
                Kind.UNBAN,
                source,
                actor=actor,
                stream=stream,
                target_user=user,
                reason=reason,
                site_wide=stream is None,
            )
            publish_on_commit(
                user_group(user.id), _restriction_changed(stream.id if stream else None)
            )
    return lifted


# --- blocked terms -----------------------------------------------------------------------


def block_term(
    term: str,
    *,
    action: str = BlockedTerm.Action.REJECT,
    match: str = BlockedTerm.Match.WORD,
    actor=None,
    source,
    reason: str = "",
) -> BlockedTerm:
    """Refuse (or hold) new comments containing `term`, as moderation.terms matches it.

    A term already blocked (in any case) is returned as it is: use change_term to change it.
    """
    term = term.strip()
    if not term:
        raise ValueError("a blocked term cannot be empty")
    with transaction.atomic():
        found = BlockedTerm.objects.filter(term__iexact=term).first()
        if found is not None:
            return found
        blocked = BlockedTerm.objects.create(
            term=term,
            action=action,
            match=match,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit.record(
            Kind.BLOCK_TERM,
            source,
            actor=actor,
            reason=reason,
            term=term,
            action=action,
            match=match,
        )
    return blocked


def change_term(
    term_id: int,
    *,
    action: str | None = None,
    match: str | None = None,
    actor=None,
    source,
    reason: str = "",
) -> BlockedTerm:
    """Change what a blocked term does or how it matches; the log keeps what it was."""
    with transaction.atomic():
        blocked = BlockedTerm.objects.select_for_update().get(id=term_id)
        before = {"action": blocked.action, "match": blocked.match}
        after = {
            "action": action if action is not None else blocked.action,
            "match": match if match is not None else blocked.match,
        }
        if after == before:
            return blocked
        blocked.action, blocked.match = after["action"], after["match"]
        blocked.save(update_fields=["action", "match"])
        audit.record(
            Kind.CHANGE_TERM,
            source,
            actor=actor,
            reason=reason,
            term=blocked.term,
            before=before,
            after=after,
        )
    return blocked


def unblock_term(term: str, *, actor=None, source, reason: str = "") -> bool:
    with transaction.atomic():
        deleted, _ = (
            BlockedTerm.objects.annotate(lower=Lower("term"))
            .filter(lower=term.strip().lower())
            .delete()
        )
        if deleted:
            audit.record(Kind.UNBLOCK_TERM, source, actor=actor, reason=reason, term=term.strip())
    return bool(deleted)
