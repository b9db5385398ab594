import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

VIDEO_URL_MESSAGE = (
    "Enter an http:// or https:// address, or a path on this site starting with / "
    "(such as /static/demo/demo-loop.webm)."
)
_absolute_video_url = URLValidator(schemes=["http", "https"])
# A path on this site: "/" then no whitespace or backslash. "//host/…" is another site
# without a scheme, so a second "/" (or a "\", which browsers read as one) is refused.
_site_path = re.compile(r"/(?![/\\])[^\s\\]*")


def validate_video_url(value: str) -> None:
    """Accept an absolute http(s) URL or a site-relative path; refuse anything else."""
    if _site_path.fullmatch(value):
        return
    try:
        _absolute_video_url(value)
    except ValidationError:
        raise ValidationError(VIDEO_URL_MESSAGE, code="invalid_video_url") from None


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
    # Not a URLField: the demo's video is a path on the site itself (/static/demo/…).
    video_url = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_video_url],
        help_text="An http(s) URL, or a path on this site such as /static/demo/demo-loop.webm.",
    )
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
