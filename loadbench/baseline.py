"""The baseline gateway: the design the seed improves on, speaking our protocol subset.

Shaped like the Channels tutorial: a row saved per post, one `group_send` per comment
on the core Redis layer, and each consumer encoding the comment for its own socket
with `send_json`; no batching, no rate limits, no idempotency. It exists only so the
same scenarios can be run against it (`manage.py loadbench --target baseline`). Run it
with DJANGO_SETTINGS_MODULE=loadbench.baseline_settings.
"""

import os
import uuid
from datetime import UTC, datetime

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loadbench.baseline_settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.db import database_sync_to_async  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from comments.models import Comment  # noqa: E402
from comments.snowflake import generator  # noqa: E402
from streams.models import Stream  # noqa: E402


def _comment_payload(comment: Comment, username: str) -> dict:
    return {
        "id": str(comment.id),
        "streamId": str(comment.stream_id),
        "userId": str(comment.author_id),
        "username": username,
        "avatarUrl": None,
        "content": comment.content,
        "parentId": None,
        "isHighlighted": False,
        "isPinned": False,
        "createdAt": comment.created_at.isoformat(),
        "metadata": {"receivedAt": int(comment.received_at.timestamp() * 1000)},
        "authorRole": comment.author_role,
    }


@database_sync_to_async
def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token else AnonymousUser()


@database_sync_to_async
def _load_stream(stream_id: int) -> tuple[Stream | None, list[dict]]:
    stream = Stream.objects.filter(pk=stream_id).first()
    if stream is None:
        return None, []
    newest = Comment.objects.filter(stream=stream, is_hidden=False).select_related("author")[:50]
    return stream, [_comment_payload(c, c.author.username) for c in reversed(newest)]


@database_sync_to_async
def _save_comment(stream_id: int, user, content: str, key: str) -> dict:
    now = datetime.now(UTC)
    comment = Comment.objects.create(
        id=generator().next_id(),
        stream_id=stream_id,
        author=user,
        content=content,
        idempotency_key=uuid.UUID(key),
        created_at=now,
        received_at=now,
    )
    return _comment_payload(comment, user.username)


class TokenAuthMiddleware:
    """Set scope["user"] from an `Authorization: Token <key>` handshake header."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        header = dict(scope["headers"]).get(b"authorization", b"").decode()
        scheme, _, key = header.partition(" ")
        user = await _user_for_token(key) if scheme == "Token" and key else AnonymousUser()
        return await self.app(dict(scope, user=user), receive, send)


class BaselineConsumer(AsyncJsonWebsocketConsumer):
    stream_id: int | None = None

    async def connect(self):
        await self.accept()

    async def disconnect(self, code):
        if self.stream_id is not None:
            await self.channel_layer.group_discard(f"stream_{self.stream_id}", self.channel_name)

    async def receive_json(self, content, **kwargs):
        payload = content.get("payload") or {}
        if content.get("type") == "join_stream":
            await self.join(int(payload["streamId"]))
        elif content.get("type") == "post_comment":
            await self.post(payload)

    async def join(self, stream_id: int):
        stream, backfill = await _load_stream(stream_id)
        if stream is None:
            await self.send_error("STREAM_NOT_FOUND")
            return
        self.stream_id = stream_id
        await self.channel_layer.group_add(f"stream_{stream_id}", self.channel_name)
        await self.send_json(
            {
                "type": "stream_state",
                "payload": {
                    "streamId": str(stream_id),
                    "title": stream.title,
                    "status": stream.status,
                    "viewerCount": 0,
                    "pinnedComments": [],
                },
            }
        )
        await self.send_json(
            {
                "type": "comments_batch",
                "payload": {
                    "streamId": str(stream_id),
                    "comments": backfill,
                    "isBackfill": True,
                },
            }
        )

    async def post(self, payload: dict):
        user = self.scope["user"]
        key = payload["idempotencyKey"]
        if not user.is_authenticated or self.stream_id is None:
            await self.send_json(
                {
                    "type": "ack",
                    "payload": {
                        "idempotencyKey": key,
                        "commentId": None,
                        "status": "rejected",
                        "code": "UNAUTHORIZED" if not user.is_authenticated else "NOT_JOINED",
                    },
                }
            )
            return
        comment = await _save_comment(self.stream_id, user, payload["content"], key)
        await self.channel_layer.group_send(
            f"stream_{self.stream_id}", {"type": "comment.new", "comment": comment}
        )
        await self.send_json(
            {
                "type": "ack",
                "payload": {
                    "idempotencyKey": key,
                    "commentId": comment["id"],
                    "status": "accepted",
                },
            }
        )

    async def comment_new(self, event):
        await self.send_json(
            {
                "type": "comments_batch",
                "payload": {
                    "streamId": event["comment"]["streamId"],
                    "comments": [event["comment"]],
                    "isBackfill": False,
                },
            }
        )

    async def send_error(self, code: str):
        await self.send_json(
            {"type": "error", "payload": {"code": code, "message": code, "retryable": False}}
        )


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            TokenAuthMiddleware(URLRouter([path("ws/live/", BaselineConsumer.as_asgi())]))
        ),
    }
)
