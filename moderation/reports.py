"""Reads of reports: a comment's open reports, and a stream's reported comments (SPEC §3)."""

from collections import Counter
from typing import Any

from comments.models import Comment
from comments.rendering import render_comment

from .models import Report


def open_report(comment) -> dict[str, Any]:
    """The protocol's Report of a comment: its open reports, by distinct reporter and reason."""
    reasons = Counter(
        Report.objects.filter(comment=comment, dismissed=False).values_list("reason", flat=True)
    )
    return {
        "commentId": str(comment.id),
        "comment": render_comment(comment),
        "count": sum(reasons.values()),
        "reasons": dict(reasons),
    }


def open_reports(stream_id: int) -> list[dict[str, Any]]:
    """The stream's reported comments with open reports, most reported first."""
    rows = Report.objects.filter(comment__stream_id=stream_id, dismissed=False).values_list(
        "comment_id", "reason"
    )
    by_comment: dict[int, Counter[str]] = {}
    for comment_id, reason in rows:
        by_comment.setdefault(comment_id, Counter())[reason] += 1
    comments = Comment.objects.filter(id__in=by_comment).select_related("author")
    reports = [
        {
            "commentId": str(comment.id),
            "comment": render_comment(comment),
            "count": sum(by_comment[comment.id].values()),
            "reasons": dict(by_comment[comment.id]),
        }
        for comment in comments
    ]
    return sorted(reports, key=lambda report: (-report["count"], int(report["commentId"])))
