from django.conf import settings
from django.db import models


class Stream(models.Model):
    class Status(models.TextChoices):
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    title = models.CharField(max_length=200)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hosted_streams",
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.LIVE)
    video_url = models.URLField(blank=True)
    slow_mode_seconds = models.PositiveIntegerField(
        default=0, help_text="At most one comment per user every N seconds; 0 is off."
    )
    locked = models.BooleanField(default=False, help_text="Only the host and moderators post.")
    min_account_age_minutes = models.PositiveIntegerField(
        default=0, help_text="Accounts younger than this may not post; 0 is off."
    )
    hold_links = models.BooleanField(
        default=False, help_text="Comments with a link wait for a moderator's review."
    )
    # The chat settings from before shield mode was turned on; null while it is off.
    shield_saved = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"], name="stream_status_recent")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE
