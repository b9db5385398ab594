from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import pre_delete


class CommentsConfig(AppConfig):
    name = "comments"

    def ready(self) -> None:
        from livecomments import metrics

        from .comment_seconds import recount_author_streams
        from .gateway import socket_counts

        metrics.register_socket_counts(socket_counts)
        # A user's comments go with them (on_delete=CASCADE): their streams count again.
        pre_delete.connect(recount_author_streams, sender=settings.AUTH_USER_MODEL)
