"""WebSocket authentication: the Django session cookie, or `Authorization: Token <key>`."""

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from rest_framework.authtoken.models import Token


def _user_for_token(key: str):
    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return None
    return token.user if token.user.is_active else None


class SessionOrTokenAuthMiddleware:
    """Put the handshake's user in `scope["user"]`: by token, by session, or anonymous.

    Only a handshake with a session cookie goes through Channels' session and auth
    middleware. Most viewers of a live stream are anonymous, and that stack keeps a
    session wrapper and three copies of the scope alive for as long as the socket is open:
    about 4 KB a socket, for a session that an anonymous viewer does not have.
    """

    def __init__(self, inner) -> None:
        self.inner = inner
        self.with_session = AuthMiddlewareStack(inner)

    def __call__(self, scope, receive, send):
        # Not a coroutine, and the user set on the scope itself rather than on a copy: an
        # anonymous viewer's socket then keeps neither a frame of this layer (with the
        # headers read here) nor a second scope for as long as it is open. No layer outside
        # this one reads `user`.
        headers = dict(scope.get("headers", ()))
        scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "token" and key.strip():
            return self._with_token(key.strip(), scope, receive, send)
        cookies = parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
        if settings.SESSION_COOKIE_NAME in cookies:
            return self.with_session(scope, receive, send)
        scope["user"] = AnonymousUser()
        return self.inner(scope, receive, send)

    async def _with_token(self, key: str, scope, receive, send):
        user = await database_sync_to_async(_user_for_token)(key)
        # A bad token is anonymous, not the session's user: posting then says UNAUTHORIZED.
        scope["user"] = user or AnonymousUser()
        return await self.inner(scope, receive, send)
