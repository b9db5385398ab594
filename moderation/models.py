from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from comments.protocol import REPORT_REASONS

from . import terms


class Ban(models.Model):
    """A user barred from one stream, or site-wide when stream is null; expiring, a timeout."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bans"
    )
    stream = models.ForeignKey(
        "streams.Stream",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="bans",
        help_text="Leave empty for a site-wide ban.",
    )
    reason = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Leave empty for a ban that does not expire."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "stream"], name="ban_by_user")]

    def __str__(self) -> str:
        where = f"stream {self.stream_id}" if self.stream_id else "site-wide"
        return f"{self.user} banned ({where})"


class BlockedTerm(models.Model):
    """A word moderators keep out of comments: refused, or held for review (moderation.terms)."""

    class Action(models.TextChoices):
        REJECT = terms.REJECT, "Reject (CONTENT_VIOLATION)"
        HOLD = terms.HOLD, "Hold for review"

    class Match(models.TextChoices):
        WORD = terms.WORD, "Whole word"
        FORMS = terms.FORMS, "Word forms and look-alikes"

    term = models.CharField(max_length=100)
    action = models.CharField(max_length=6, choices=Action.choices, default=Action.REJECT)
    match = models.CharField(
        max_length=5,
        choices=Match.choices,
        default=Match.WORD,
        help_text="Whole word: the word as typed, any case or accents. Word forms: also its "
        "plurals and forms (spoilers, spoiled), look-alikes (sp0il3r) and stretches (spoooiler).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["term"]
        constraints = [models.UniqueConstraint(Lower("term"), name="blocked_term_unique_lower")]

    def __str__(self) -> str:
        return self.term


class BlockedTermHits(models.Model):
    """How many comments a blocked term held or refused in one five-minute bucket.

    The writer adds to these in its own transaction, one statement a flush, only for the
    terms that acted; the admin sums them for the last hour and for all time.
    """

    # No database constraint: a term unblocked while a flush counts it must not fail the
    # flush (PostgreSQL checks foreign keys at commit). Unblocking deletes its rows.
    term = models.ForeignKey(
        BlockedTerm, on_delete=models.CASCADE, related_name="hits", db_constraint=False
    )
    bucket = models.DateTimeField(help_text="Start of the five minutes counted.")
    held = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["term", "bucket"], name="blocked_term_hits_bucket")
        ]

    def __str__(self) -> str:
        return f"{self.term_id} at {self.bucket:%H:%M}: {self.held} held, {self.refused} refused"


class ModerationAction(models.Model):
    """Audit log: every moderation action from every path (admin, API, command)."""

    class Kind(models.TextChoices):
        PIN = "pin"
        UNPIN = "unpin"
        HIGHLIGHT = "highlight"
        UNHIGHLIGHT = "unhighlight"
        HIDE = "hide"
        UNHIDE = "unhide"
        APPROVE = "approve"
        DENY = "deny"
        DISMISS_REPORTS = "dismiss_reports"
        BAN = "ban"
        UNBAN = "unban"
        END_STREAM = "end_stream"
        CREATE_STREAM = "create_stream"
        SLOW_MODE = "slow_mode"
        CHAT_SETTINGS = "chat_settings"
        SHIELD_ON = "shield_on"
        SHIELD_OFF = "shield_off"
        BLOCK_TERM = "block_term"
        UNBLOCK_TERM = "unblock_term"
        CHANGE_TERM = "change_term"

    class Source(models.TextChoices):
        ADMIN = "admin"
        API = "api"
        COMMAND = "command"
        # A moderating WebSocket: the live console or the stream page's menu.
        SOCKET = "socket"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when an operator acted through manage.py.",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    stream = models.ForeignKey(
        "streams.Stream", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["stream", "-created_at"], name="modaction_by_stream")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor or 'operator'}"


class ModeratorNote(models.Model):
    """What moderators keep in mind about a user (site-wide), shown on the console's user card."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderator_note"
    )
    text = models.TextField(max_length=2000, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"note on {self.user}"


class Report(models.Model):
    """A signed-in viewer's report of a comment; one per reporter until moderators dismiss."""

    comment = models.ForeignKey(
        "comments.Comment", on_delete=models.CASCADE, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    reason = models.CharField(max_length=10, choices=[(r, r.capitalize()) for r in REPORT_REASONS])
    # Dismissed reports stay as history but count no more.
    dismissed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "reporter"],
                condition=models.Q(dismissed=False),
                name="report_once_per_reporter",
            )
        ]
        indexes = [
            models.Index(
                fields=["comment"],
                condition=models.Q(dismissed=False),
                name="report_open_by_comment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} report on {self.comment_id}"


class RulesGeneration(models.Model):
    """One row whose token changes in every transaction that changes what a post's rules read.

    Triggers on streams, bans, blocked terms and who moderates (migration 0008) set a new
    random token; the writer keeps what it read under a token until the token changes
    (comments.rule_reads). Random, not counted, so a table emptied and refilled (a test's
    flush) never brings back a token seen before.
    """

    token = models.BigIntegerField()

    def __str__(self) -> str:
        return f"rules token {self.token}"
