from django.conf import settings
from django.db import models
from django.db.models import Q

from .protocol import REACTION_TYPES


class Comment(models.Model):
    class AuthorRole(models.TextChoices):
        """The author's standing on the stream when they posted: the badge viewers see."""

        HOST = "host"
        MODERATOR = "moderator"
        VIEWER = "viewer"

    class Review(models.TextChoices):
        """Where a comment stands with the moderators: held ones are shown to no viewer."""

        NONE = "", "Not held"
        HELD = "held", "Held for review"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    # A Snowflake (comments.snowflake): time-ordered, unique across gateway processes.
    id = models.BigIntegerField(primary_key=True)
    stream = models.ForeignKey("streams.Stream", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    content = models.CharField(max_length=500)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    author_role = models.CharField(
        max_length=9, choices=AuthorRole.choices, default=AuthorRole.VIEWER
    )
    is_highlighted = models.BooleanField(default=False)
    is_pinned = models.BooleanField(default=False)
    # Held and denied comments are hidden too, so every read of visible comments skips them.
    is_hidden = models.BooleanField(default=False)
    review = models.CharField(max_length=8, choices=Review.choices, default="", blank=True)
    held_reason = models.CharField(
        max_length=200, blank=True, help_text="The rule that held it, as moderators see it."
    )
    # Deleted by its author: hidden for good, and no moderator can show it again.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The author's last edit; an edit a rule held waits in pending_content (the old text
    # stays visible) until a moderator approves it.
    edited_at = models.DateTimeField(null=True, blank=True)
    pending_content = models.CharField(max_length=500, blank=True)
    idempotency_key = models.UUIDField()
    created_at = models.DateTimeField()
    received_at = models.DateTimeField(help_text="When a gateway received the post.")

    class Meta:
        ordering = ["-id"]
        # No unique constraint on (idempotency_key, author) here: on PostgreSQL this table
        # is partitioned by id (comments.partitions), and a partitioned table's unique
        # constraints must include id, which would make the key unique per comment, not
        # per author. CommentKey holds that uniqueness for the whole table.
        indexes = [
            # Backfill, resume and the REST cursor: visible comments of a stream by id.
            models.Index(
                fields=["stream", "id"],
                condition=Q(is_hidden=False),
                name="comment_visible_by_stream",
            ),
            models.Index(
                fields=["stream"], condition=Q(is_pinned=True), name="comment_pinned_by_stream"
            ),
            models.Index(fields=["author", "stream"], name="comment_by_author"),
            # The held queue of a stream, oldest first.
            models.Index(
                fields=["stream", "id"], condition=Q(review="held"), name="comment_held_by_stream"
            ),
            # What the moments take away from a stream's comments counted per second
            # (comments.comment_seconds): few rows, read by the index alone.
            models.Index(
                fields=["stream", "id"],
                condition=Q(is_hidden=True),
                name="comment_hidden_by_stream",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_id}: {self.content[:40]}"


class CommentKey(models.Model):
    """The key a comment was posted with: the durable half of idempotency (state.idempotency).

    Unique per author across every partition of the comments table, so a key retried on
    another gateway, or in the next week, can never store a second comment. The writer
    claims the key first and stores the comment only if the claim is its own. Rows go with
    their comment (retention drops both).
    """

    comment = models.OneToOneField(
        Comment, primary_key=True, on_delete=models.CASCADE, related_name="key"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    idempotency_key = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key", "author"], name="comment_key_unique_per_author"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_id}: {self.idempotency_key}"


# The labels the migration has; the types themselves are comments.protocol's.
REACTION_CHOICES = [(kind, kind.capitalize()) for kind in REACTION_TYPES]


class ReactionTotal(models.Model):
    """Running total of one reaction type on a stream (comment is null) or on a comment."""

    stream = models.ForeignKey("streams.Stream", on_delete=models.CASCADE, related_name="reactions")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE)
    reaction_type = models.CharField(max_length=8, choices=REACTION_CHOICES)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "reaction_type"],
                condition=Q(comment=None),
                name="reaction_total_per_stream",
            ),
            models.UniqueConstraint(
                fields=["comment", "reaction_type"],
                condition=Q(comment__isnull=False),
                name="reaction_total_per_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reaction_type}: {self.count}"


class SnowflakeWorker(models.Model):
    """One row per gateway process start; id % 1024 is that process's Snowflake worker id."""

    started_at = models.DateTimeField(auto_now_add=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"worker {self.pk} ({self.hostname}:{self.pid})"


class ReactionSecond(models.Model):
    """Reactions of one type on a stream in one wall-clock second: the replay's reactions.

    Gateways add their own counts (an upsert that adds), so a second heard by several
    gateways sums up here.
    """

    stream = models.ForeignKey(
        "streams.Stream", on_delete=models.CASCADE, related_name="reaction_seconds"
    )
    # Seconds since the Unix epoch, not since the stream's start: a gateway writes it
    # without knowing when the stream began.
    second = models.BigIntegerField()
    reaction_type = models.CharField(max_length=8, choices=REACTION_CHOICES)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index of a replay window: a range of seconds of one stream.
            models.UniqueConstraint(
                fields=["stream", "second", "reaction_type"], name="reaction_second_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.second} {self.reaction_type}: {self.count}"


class CommentSecond(models.Model):
    """How many comments of a stream were stored in one second of it: the moments' counts.

    Hidden ones too: a hide changes what the moments show without touching these rows (the
    moments take the hidden ones away when read). Counted in the background, a second at
    a time, by comments.comment_seconds.
    """

    stream = models.ForeignKey(
        "streams.Stream", on_delete=models.CASCADE, related_name="comment_seconds"
    )
    # Seconds since the stream's start, by the comment id's time: a moment's bucket is
    # then a whole number of these.
    second = models.BigIntegerField()
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "second"], name="comment_second_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.second}: {self.count}"


class CommentSecondsMark(models.Model):
    """How far a stream's comments are counted in its CommentSeconds: every comment with a
    smaller id. Its row lock makes one process at a time count a stream."""

    stream = models.OneToOneField(
        "streams.Stream", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    counted_below_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"stream {self.stream_id}: below {self.counted_below_id}"
