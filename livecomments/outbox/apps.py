from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "livecomments.outbox"
    label = "outbox"
    verbose_name = "Events outbox"
