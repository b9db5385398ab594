from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "comments"

    def ready(self) -> None:
        from livecomments import metrics

        from .gateway import socket_counts

        metrics.register_socket_counts(socket_counts)
