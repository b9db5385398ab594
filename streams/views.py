"""The viewer pages (SPEC §4): the stream list and the stream page.

The stream page is a shell; its live comments panel fills itself over the WebSocket
(static/livecomments/app.js), so the page costs one query however busy the stream is.
"""

from django.shortcuts import get_object_or_404, render

from comments.protocol import MAX_CONTENT_CHARS, REACTION_TYPES

from . import selectors
from .models import Stream

REACTION_LABELS = {
    "like": ("👍", "Like"),
    "love": ("❤️", "Love"),
    "haha": ("😂", "Haha"),
    "wow": ("😮", "Wow"),
    "sad": ("😢", "Sad"),
    "angry": ("😠", "Angry"),
}


def stream_list(request):
    streams = list(selectors.live_first())
    counts = selectors.viewer_counts([stream.id for stream in streams if stream.is_live])
    for stream in streams:
        stream.viewer_count = counts.get(stream.id, 0)
    return render(request, "streams/list.html", {"streams": streams})


def stream_detail(request, stream_id: int):
    stream = get_object_or_404(Stream, pk=stream_id)
    user = request.user
    live_config = {
        # Ids travel as strings, as in the protocol: Snowflakes do not fit a JS number.
        "streamId": str(stream.id),
        "socketPath": "/ws/live/",
        "user": {"id": str(user.pk), "username": user.get_username()}
        if user.is_authenticated
        else None,
    }
    reactions = [(kind, *REACTION_LABELS[kind]) for kind in REACTION_TYPES]
    return render(
        request,
        "streams/detail.html",
        {
            "stream": stream,
            "live_config": live_config,
            "reactions": reactions,
            "max_content_chars": MAX_CONTENT_CHARS,
        },
    )
