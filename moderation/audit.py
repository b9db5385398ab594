"""The moderation log: every moderation action from every path is recorded here."""

from .models import ModerationAction


def record(
    kind,
    source,
    *,
    actor=None,
    stream=None,
    target_user=None,
    comment_id=None,
    reason="",
    **details,
) -> ModerationAction:
    return ModerationAction.objects.create(
        kind=kind,
        source=source,
        actor=actor if actor is not None and actor.is_authenticated else None,
        stream=stream,
        target_user=target_user,
        comment_id=comment_id,
        reason=reason,
        details=details,
    )
