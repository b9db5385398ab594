"""Streams over REST: list and read them; moderators end them and set slow mode."""

import logging

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from livecomments.api import ApiView, ErrorSerializer, ModeratorView
from livecomments.errors import StreamNotFound
from moderation.models import ModerationAction

from . import services
from .chat_modes import WIRE_NAMES, wire_settings
from .models import Stream
from .selectors import live_first, viewer_counts

logger = logging.getLogger(__name__)

SOURCE = ModerationAction.Source.API


class StreamSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Stream.Status.choices)
    host = serializers.CharField(allow_null=True, help_text="The host's username.")
    videoUrl = serializers.CharField(source="video_url")
    slowModeSeconds = serializers.IntegerField(source="slow_mode_seconds")
    viewerCount = serializers.IntegerField(
        allow_null=True, help_text="Sockets joined across every gateway (null if unknown)."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)


def stream_body(stream: Stream, viewers: int | None) -> dict:
    return StreamSerializer(
        {
            "id": str(stream.id),
            "title": stream.title,
            "status": stream.status,
            "host": stream.host.username if stream.host else None,
            "video_url": stream.video_url,
            "slow_mode_seconds": stream.slow_mode_seconds,
            "viewerCount": viewers,
            "created_at": stream.created_at,
            "ended_at": stream.ended_at,
        }
    ).data


def _viewer_counts(ids: list[int]) -> dict[int, int]:
    try:
        return viewer_counts(ids) if ids else {}
    except Exception:
        logger.exception("reading viewer counts failed")
        return {}


def get_stream(stream_id: int) -> Stream:
    try:
        return Stream.objects.select_related("host").get(id=stream_id)
    except Stream.DoesNotExist:
        raise StreamNotFound() from None


class StreamPagination(PageNumberPagination):
    page_size = 50


class StreamListView(ApiView):
    @extend_schema(responses=StreamSerializer(many=True), summary="Streams, live ones first")
    def get(self, request):
        paginator = StreamPagination()
        page: list[Stream] = paginator.paginate_queryset(live_first(), request, view=self) or []
        viewers = _viewer_counts([s.id for s in page])
        return paginator.get_paginated_response([stream_body(s, viewers.get(s.id)) for s in page])


class StreamDetailView(ApiView):
    @extend_schema(responses={200: StreamSerializer, 404: ErrorSerializer}, summary="One stream")
    def get(self, request, stream_id: int):
        stream = get_stream(stream_id)
        return Response(stream_body(stream, _viewer_counts([stream.id]).get(stream.id)))


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class SlowModeSerializer(ReasonSerializer):
    seconds = serializers.IntegerField(
        min_value=0, max_value=3600, help_text="One comment per user every N seconds; 0 is off."
    )


class EndStreamView(ModeratorView):
    @extend_schema(
        request=ReasonSerializer,
        responses={200: StreamSerializer, 404: ErrorSerializer},
        summary="End a stream; every viewer gets stream_ended",
    )
    def post(self, request, stream_id: int):
        data = _valid(ReasonSerializer, request)
        get_stream(stream_id)
        stream = services.end_stream(
            stream_id, actor=request.user, source=SOURCE, reason=data["reason"]
        )
        return Response(stream_body(stream, None))


class SlowModeView(ModeratorView):
    @extend_schema(
        request=SlowModeSerializer,
        responses={200: StreamSerializer, 404: ErrorSerializer},
        summary="Set a stream's slow mode",
    )
    def post(self, request, stream_id: int):
        data = _valid(SlowModeSerializer, request)
        get_stream(stream_id)
        stream = services.set_slow_mode(
            stream_id, data["seconds"], actor=request.user, source=SOURCE, reason=data["reason"]
        )
        return Response(stream_body(stream, None))


class ChatSettingsSerializer(ReasonSerializer):
    """The chat settings to change (those left out stay as they are), and shield mode."""

    slowModeSeconds = serializers.IntegerField(min_value=0, max_value=3600, required=False)
    locked = serializers.BooleanField(required=False)
    minAccountAgeMinutes = serializers.IntegerField(min_value=0, max_value=525_600, required=False)
    holdLinks = serializers.BooleanField(required=False)
    shield = serializers.BooleanField(
        required=False, help_text="On raises the settings to shield mode's floor; off restores."
    )


class StreamSettingsSerializer(serializers.Serializer):
    slowModeSeconds = serializers.IntegerField()
    locked = serializers.BooleanField()
    minAccountAgeMinutes = serializers.IntegerField()
    holdLinks = serializers.BooleanField()
    shield = serializers.BooleanField()


class ChatSettingsView(ModeratorView):
    @extend_schema(
        request=ChatSettingsSerializer,
        responses={200: StreamSettingsSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        summary="Change a stream's chat settings or shield mode; every viewer is told",
    )
    def post(self, request, stream_id: int):
        data = _valid(ChatSettingsSerializer, request)
        get_stream(stream_id)
        audit = {"actor": request.user, "source": SOURCE, "reason": data.pop("reason")}
        shield = data.pop("shield", None)
        if data:
            changes = {WIRE_NAMES[name]: value for name, value in data.items()}
            services.change_chat_settings(stream_id, changes, **audit)
        if shield is not None:
            services.set_shield(stream_id, shield, **audit)
        return Response(wire_settings(Stream.objects.get(id=stream_id)))


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
