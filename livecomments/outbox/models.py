from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """One group message waiting for the serving process to read it (livecomments.events).

    Read by id (the primary key's index) and deleted after a minute: nothing stays long.
    """

    group = models.CharField(max_length=200)
    message = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.group}: {self.message.get('type')}"
