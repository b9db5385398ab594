"""Comments over REST: read a stream's comments by cursor, post one through the live pipeline.

A post goes through `services.post_comment`, the very code a WebSocket post runs:
idempotency, rate limits, content rules and bans are shared, and an accepted comment is
broadcast to every viewer like any other. A comment is described by the protocol's own
`CommentOut` (drf-spectacular reads pydantic models), so the schema cannot drift from it.
"""

from collections.abc import Callable
from functools import partial
from typing import Literal

from asgiref.sync import SyncToAsync, async_to_sync
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from rest_framework import serializers, status
from rest_framework.response import Response

from livecomments.api import ApiView, ErrorSerializer
from livecomments.errors import InvalidMessage
from livecomments.replica import lagging_reads
from moderation.selectors import is_moderator
from streams.api import get_stream

from . import replay, services
from .gateway import gateway
from .protocol import MAX_RAW_CONTENT_CHARS, CommentOut, UuidString, ack_payload
from .rendering import render_comment
from .selectors import visible_comments

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_idempotency_key = TypeAdapter(UuidString)


class CommentPage(BaseModel):
    comments: list[CommentOut]
    next: str | None = Field(description="The next page, or null at the end.")


class NewCommentSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=MAX_RAW_CONTENT_CHARS, trim_whitespace=False)
    parentId = serializers.RegexField(r"^[0-9]{1,19}$", required=False, allow_null=True)


class AcceptedComment(BaseModel):
    idempotencyKey: str
    commentId: str
    status: Literal["accepted", "held"]
    # Null while it is held for review: nobody sees it until a moderator approves it.
    comment: CommentOut | None


class StreamCommentsView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("after", str, description="Only comments with a greater id."),
            OpenApiParameter("limit", int, description=f"At most this many (≤ {MAX_PAGE_SIZE})."),
        ],
        responses={200: CommentPage, 404: ErrorSerializer},
        summary="A stream's visible comments, oldest first, from a cursor",
    )
    def get(self, request, stream_id: int):
        get_stream(stream_id)
        after = _cursor(request.query_params.get("after"))
        limit = _limit(request.query_params.get("limit"))
        rows = visible_comments(stream_id).using(lagging_reads()).order_by("id")
        if after is not None:
            rows = rows.filter(id__gt=after)
        page = list(rows[: limit + 1])
        more = len(page) > limit
        page = page[:limit]
        next_url = None
        if more:
            query = request.query_params.copy()
            query["after"] = str(page[-1].id)
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"comments": [render_comment(c) for c in page], "next": next_url})

    @extend_schema(
        request=NewCommentSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="A client-made UUID; a retry with it returns the same comment.",
            )
        ],
        responses={
            201: AcceptedComment,
            202: AcceptedComment,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
            429: ErrorSerializer,
        },
        summary="Post a comment (the same pipeline and rules as the WebSocket)",
    )
    def post(self, request, stream_id: int):
        received_at = timezone.now()
        author = services.Author.of(request.user, moderates=is_moderator(request.user))
        key = _key(request.headers.get("Idempotency-Key"))
        body = NewCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        parent = body.validated_data.get("parentId")
        info = services.load_stream_info(stream_id)
        posted = run_on_gateway(
            author,
            info,
            body.validated_data["content"],
            key,
            int(parent) if parent else None,
            received_at,
        )
        # A held comment is shown to nobody, its author included, until it is approved.
        comment = visible_comments(stream_id).filter(id=posted.comment_id).first()
        return Response(
            {
                **ack_payload(key, posted.comment_id, held=posted.held),
                "comment": comment and render_comment(comment),
            },
            status=status.HTTP_202_ACCEPTED if posted.held else status.HTTP_201_CREATED,
        )


def run_on_gateway(*args) -> services.Posted:
    """Run `services.post_comment` on this process's gateway, from a synchronous view.

    Under daphne (and in async tests) the view's thread belongs to the server's event loop,
    whose gateway batches the comment out to viewers. Without one (a WSGI server, Django's
    synchronous test client) the loop lives for this call only, so its gateway is drained
    before the loop goes: the batch is sent, not dropped.
    """
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():
        return async_to_sync(services.post_comment)(*args, from_thread=True)
    return async_to_sync(_post_and_drain)(*args)


async def _post_and_drain(*args) -> services.Posted:
    try:
        return await services.post_comment(*args, from_thread=True)
    finally:
        await gateway().close()


def _key(raw: str | None) -> str:
    if not raw:
        raise InvalidMessage("The Idempotency-Key header (a UUID) is required.")
    try:
        return _idempotency_key.validate_python(raw.strip()).lower()
    except ValidationError:
        raise InvalidMessage("The Idempotency-Key header must be a UUID.") from None


def _cursor(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise InvalidMessage("after must be a comment id.")
    return int(raw)


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise InvalidMessage(f"limit must be between 1 and {MAX_PAGE_SIZE}.")
    return int(raw)


class ReplayComment(CommentOut):
    offsetMs: int = Field(description="Received time minus the stream's start, in ms.")


class ReactionSecondOut(BaseModel):
    offsetMs: int
    counts: dict[str, int]


class ReplayWindowOut(BaseModel):
    comments: list[ReplayComment]
    reactions: list[ReactionSecondOut]
    next: str | None = Field(
        description=f"More than {replay.PAGE_LIMIT} comments: the same window with after=this."
    )


class MomentOut(BaseModel):
    offsetMs: int
    comments: int
    reactions: int


class MomentsOut(BaseModel):
    bucketMs: int
    buckets: list[MomentOut]


JSON = "application/json"


class ReplayView(ApiView):
    """Answers about a stream's replay: ETag and 304 once the stream has ended."""

    def answer(self, request, stream, what: str, read: Callable[[str | None], bytes]):
        revision = replay.revision_of(stream)
        headers = {"Cache-Control": "no-cache"}
        if revision is None:
            return HttpResponse(read(None), content_type=JSON, headers=headers)
        tag = f'"{replay.answer_name(stream, revision, what)}"'
        headers["ETag"] = tag
        if tag in request.headers.get("If-None-Match", ""):
            return HttpResponseNotModified(headers=headers)
        # Encoded JSON already (and cached so): DRF's renderer would decode nothing new.
        return HttpResponse(read(revision), content_type=JSON, headers=headers)


class StreamReplayView(ReplayView):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, required=True, description="Offset in ms, included."),
            OpenApiParameter(
                "to", int, required=True, description="Offset in ms, excluded (≤ from + 5 min)."
            ),
            OpenApiParameter("after", str, description="Continue a window after this id."),
        ],
        responses={200: ReplayWindowOut, 304: None, 400: ErrorSerializer, 404: ErrorSerializer},
        summary="A window of an ended or live stream's chat, by offset from its start",
    )
    def get(self, request, stream_id: int):
        stream = get_stream(stream_id)
        params = request.query_params
        window = replay.Window.parse(params.get("from"), params.get("to"), params.get("after"))
        read = partial(replay.replay_window, stream, window)
        return self.answer(request, stream, window.name, read)


class StreamMomentsView(ReplayView):
    @extend_schema(
        responses={200: MomentsOut, 304: None, 404: ErrorSerializer},
        summary="Comments and reactions per bucket over the whole stream (the heat strip)",
    )
    def get(self, request, stream_id: int):
        stream = get_stream(stream_id)
        return self.answer(request, stream, "moments", partial(replay.moments, stream))
