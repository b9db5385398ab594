"""WebSocket authentication: the Django session cookie, or `Authorization: Token <key>`."""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token


def _user_for_token(key: str):
    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return None
    return token.user if token.user.is_active else None


class TokenAuthMiddleware(BaseMiddleware):
    """Replace the session's user with a token's user when the handshake carries a token."""

    async def __call__(self, scope, receive, send):
        header = dict(scope.get("headers", ())).get(b"authorization", b"").decode("latin-1")
        scheme, _, key = header.partition(" ")
        if scheme.lower() == "token" and key.strip():
            user = await database_sync_to_async(_user_for_token)(key.strip())
            # A bad token is anonymous, not the session's user: posting then says UNAUTHORIZED.
            scope = {**scope, "user": user or AnonymousUser()}
        return await super().__call__(scope, receive, send)


def SessionOrTokenAuthMiddleware(inner):
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
