"""What every REST endpoint shares: authentication, who moderates, and errors as SPEC codes.

An error body is the WebSocket `error` payload — `{"code", "message", "retryable"}` —
with the HTTP status below, so a client handles a refusal the same way on both paths.
"""

from collections.abc import Mapping

from rest_framework import exceptions, permissions, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from livecomments.errors import ErrorCode, LiveCommentsError, RateLimited, error_payload
from livecomments.login_attempts import LoginAttempts
from moderation.selectors import is_moderator

HTTP_STATUS = {
    ErrorCode.RATE_LIMITED: status.HTTP_429_TOO_MANY_REQUESTS,
    ErrorCode.BANNED: status.HTTP_403_FORBIDDEN,
    ErrorCode.CONTENT_VIOLATION: status.HTTP_422_UNPROCESSABLE_ENTITY,
    ErrorCode.STREAM_ENDED: status.HTTP_409_CONFLICT,
    ErrorCode.UNAUTHORIZED: status.HTTP_401_UNAUTHORIZED,
    ErrorCode.INVALID_MESSAGE: status.HTTP_400_BAD_REQUEST,
    ErrorCode.STREAM_NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.NOT_JOINED: status.HTTP_400_BAD_REQUEST,
    ErrorCode.RESTRICTED: status.HTTP_403_FORBIDDEN,
    ErrorCode.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    ErrorCode.UNAVAILABLE: status.HTTP_503_SERVICE_UNAVAILABLE,
}

# DRF's own refusals, in the same shape. NOT_FOUND is HTTP's, for things other than streams.
DRF_CODES = {
    exceptions.NotAuthenticated: ErrorCode.UNAUTHORIZED,
    exceptions.AuthenticationFailed: ErrorCode.UNAUTHORIZED,
    exceptions.PermissionDenied: ErrorCode.UNAUTHORIZED,
    exceptions.ValidationError: ErrorCode.INVALID_MESSAGE,
    exceptions.ParseError: ErrorCode.INVALID_MESSAGE,
    exceptions.UnsupportedMediaType: ErrorCode.INVALID_MESSAGE,
    exceptions.Throttled: ErrorCode.RATE_LIMITED,
}


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    retryable = serializers.BooleanField()
    retryAfter = serializers.IntegerField(required=False)


def error_response(error: LiveCommentsError) -> Response:
    body = error_payload(error)
    headers = {}
    if isinstance(error, RateLimited):
        body["retryAfter"] = error.retry_after
        headers["Retry-After"] = str(error.retry_after)
    elif error.code == ErrorCode.UNAVAILABLE:
        headers["Retry-After"] = "1"
    return Response(body, status=HTTP_STATUS[error.code], headers=headers)


def handle_exception(exc, context):
    if isinstance(exc, LiveCommentsError):
        return error_response(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for kind, c in DRF_CODES.items() if isinstance(exc, kind)), None)
    if isinstance(exc, exceptions.ValidationError):
        message = _first_validation_message(exc.detail)
    else:
        message = str(getattr(exc, "detail", exc))
    response.data = {
        "code": code.value if code else _http_code(response.status_code),
        "message": message,
        "retryable": response.status_code in (429, 503),
    }
    return response


def _first_validation_message(detail, where: str = "") -> str:
    if isinstance(detail, dict):
        field, inner = next(iter(detail.items()))
        return _first_validation_message(inner, f"{where}.{field}" if where else str(field))
    if isinstance(detail, list) and detail:
        return _first_validation_message(detail[0], where)
    return f"{where}: {detail}" if where and where != "non_field_errors" else str(detail)


def _http_code(status_code: int) -> str:
    return {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 406: "NOT_ACCEPTABLE"}.get(
        status_code, "ERROR"
    )


class IsModerator(permissions.BasePermission):
    """Staff in the Moderators group, and superusers (moderation.selectors.is_moderator)."""

    message = "Only moderators may do that."

    def has_permission(self, request, view):
        return is_moderator(request.user)


class ApiView(APIView):
    # Token first: an anonymous request is then told 401 with `WWW-Authenticate: Token`.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    def get_exception_handler(self):
        return handle_exception


class ModeratorView(ApiView):
    permission_classes = [IsModerator]


class TokenView(ObtainAuthToken):
    """POST username and password, get the token for `Authorization: Token <key>`.

    Failures count against the same limits as the login page (livecomments.login_attempts).
    """

    # Answered from the posted credentials alone: a session cookie the client also holds
    # must not bring in SessionAuthentication's CSRF check (SPEC §4).
    authentication_classes = ()

    def post(self, request, *args, **kwargs):
        data = request.data if isinstance(request.data, Mapping) else {}
        attempts = LoginAttempts.of(request, str(data.get("username") or ""))
        attempts.check()
        try:
            response = super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            attempts.failed()
            raise
        attempts.succeeded()
        return response

    def get_exception_handler(self):
        return handle_exception
