"""The viewer pages (SPEC §4): the stream list and the stream page.

The stream page is a shell; its live comments panel fills itself over the WebSocket
(static/livecomments/app.js), so the page costs one query however busy the stream is.
"""

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from comments.models import REACTION_CHOICES
from comments.protocol import MAX_CONTENT_CHARS, ReactionTypeName
from livecomments.errors import ErrorCode
from moderation.selectors import moderates_stream

from . import selectors
from .models import Stream

# How the page draws each reaction type: on its buttons, and in the client's bursts
# through static/livecomments/protocol.js (`manage.py protocol_types` writes it).
REACTION_EMOJI: dict[ReactionTypeName, str] = {
    "like": "👍",
    "love": "❤️",
    "haha": "😂",
    "wow": "😮",
    "sad": "😢",
    "angry": "😠",
}

# What the page tells a viewer whose comment is refused (REASONS in protocol.js), where it
# can say more than the error's own message: the viewer was writing a comment. Other codes
# show that message.
PAGE_REASONS: dict[ErrorCode, str] = {
    ErrorCode.CONTENT_VIOLATION: "This comment breaks the stream's rules.",
    ErrorCode.UNAUTHORIZED: "Log in to comment.",
    ErrorCode.INVALID_MESSAGE: f"Comments are 1 to {MAX_CONTENT_CHARS} characters.",
    ErrorCode.STREAM_NOT_FOUND: "This stream does not exist.",
    ErrorCode.NOT_JOINED: "Not connected to the stream yet.",
    ErrorCode.UNAVAILABLE: "The service is briefly unavailable.",
}


def stream_list(request):
    streams = list(selectors.live_first())
    counts = selectors.viewer_counts([stream.id for stream in streams if stream.is_live])
    for stream in streams:
        stream.viewer_count = counts.get(stream.id, 0)
    return render(request, "streams/list.html", {"streams": streams})


def replay_config(stream: Stream) -> dict | None:
    """What a stream's page needs to replay its chat (static/livecomments/replay.js).

    An ended stream replays; a live one with a video replays while its viewer is behind
    live (DVR): `live` gives the stream's start and the server's clock, to map the video's
    position to the stream's offsets. A live stream without a video has nothing to seek.
    """
    if stream.is_live and not stream.video_url:
        return None
    now = timezone.now()
    ended_at = (stream.ended_at or stream.created_at) if not stream.is_live else now
    config: dict = {
        "replayUrl": reverse("api:replay", args=[stream.id]),
        "momentsUrl": reverse("api:moments", args=[stream.id]),
        "durationMs": max(1000, int((ended_at - stream.created_at).total_seconds() * 1000)),
    }
    if stream.is_live:
        config["live"] = {
            "startedAtMs": int(stream.created_at.timestamp() * 1000),
            "serverNowMs": int(now.timestamp() * 1000),
        }
    return config


def stream_detail(request, stream_id: int):
    stream = get_object_or_404(Stream, pk=stream_id)
    user = request.user
    # The host and moderators moderate from the page (and are never limited by chat modes).
    moderates = moderates_stream(user, stream.host_id)
    live_config = {
        # Ids travel as strings, as in the protocol: Snowflakes do not fit a JS number.
        "streamId": str(stream.id),
        "socketPath": "/ws/live/",
        "user": {
            "id": str(user.pk),
            "username": user.get_username(),
            "moderates": moderates,
        }
        if user.is_authenticated
        else None,
        "replay": replay_config(stream),
    }
    reactions = [(kind, REACTION_EMOJI[kind], label) for kind, label in REACTION_CHOICES]
    return render(
        request,
        "streams/detail.html",
        {
            "stream": stream,
            "live_config": live_config,
            "moderates": moderates,
            "reactions": reactions,
            "max_content_chars": MAX_CONTENT_CHARS,
        },
    )
