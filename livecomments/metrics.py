"""Prometheus metrics of this gateway process, served at /metrics.

Every daphne process serves its own figures; Prometheus scrapes each gateway (see
docs/operations.md). Counters are bumped on the hot path (a dict lookup and an add);
sockets per stream are read only when scraped, through what the comments app registers.
"""

import hmac
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

POSTS = Counter(
    "livecomments_posts",
    "Comment posts answered, by outcome: accepted, or the error code that refused them.",
    ["outcome"],
)
ACK_SECONDS = Histogram(
    "livecomments_ack_seconds",
    "From a post frame's arrival to its ack.",
    buckets=_LATENCY_BUCKETS,
)
WRITER_FLUSH_SECONDS = Histogram(
    "livecomments_writer_flush_seconds",
    "One flush of the comment writer: its posts' admission (rate limits) and its write.",
    buckets=_LATENCY_BUCKETS,
)
WRITER_FLUSHES = Counter(
    "livecomments_writer_flushes",
    "Flushes that went to the database, by where their statement ran: 'loop' (the event "
    "loop's own PostgreSQL connection) or 'thread' (Django's, through the database thread).",
    ["via"],
)
WRITER_BATCH_SIZE = Histogram(
    "livecomments_writer_batch_posts",
    "Posts stored by one group-commit transaction.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
LIVE_BATCH_SIZE = Histogram(
    "livecomments_live_batch_comments",
    "Comments in one live comments_batch this gateway published.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
DISPLAY_LATENCY_SECONDS = Histogram(
    "livecomments_display_latency_seconds",
    "Display latency browsers report: now minus the comment's receivedAt.",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30),
)
SOCKETS_REFUSED = Counter(
    "livecomments_sockets_refused",
    "WebSocket handshakes refused at the edge, by reason.",
    ["reason"],
)
SLOW_SOCKETS_DROPPED = Counter(
    "livecomments_slow_sockets_dropped",
    "Sockets dropped because their client stopped reading and the send buffer filled.",
)
ROOM_FRAMES_WRITTEN = Counter(
    "livecomments_room_frames_written",
    "Frames written to a stream's sockets, by path: direct (framed once, written to the "
    "transport) or plain (the ASGI send).",
    ["path"],
)
SOCKETS_OPENED = Counter(
    "livecomments_sockets_opened",
    "WebSockets opened, by path: light (the server's queue and handshake made lighter, "
    "comments.server_internals) or plain (as the server made them).",
    ["path"],
)
LOGIN_THROTTLED = Counter(
    "livecomments_login_throttled",
    "Login attempts refused because of too many failures.",
)


SocketCounts = Callable[[], Iterable[tuple[int, int]]]


class SocketsCollector:
    """livecomments_sockets{stream}: this process's sockets joined to each stream."""

    def __init__(self, socket_counts: SocketCounts) -> None:
        self._socket_counts = socket_counts

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "livecomments_sockets", "Sockets of this gateway joined to a stream.", labels=["stream"]
        )

    def describe(self):
        # Registering asks for the names; describing them reads no sockets.
        yield self._family()

    def collect(self):
        family = self._family()
        for stream_id, sockets in self._socket_counts():
            family.add_metric([str(stream_id)], sockets)
        yield family


def register_socket_counts(socket_counts: SocketCounts) -> None:
    """Serve `socket_counts()`, (stream id, sockets) pairs, as livecomments_sockets."""
    REGISTRY.register(SocketsCollector(socket_counts))


def record_post(outcome: str, seconds: float) -> None:
    POSTS.labels(outcome).inc()
    ACK_SECONDS.observe(seconds)


def record_display_latencies(samples_ms: list[int]) -> None:
    for sample in samples_ms:
        DISPLAY_LATENCY_SECONDS.observe(sample / 1000)


@never_cache
@require_GET
def metrics_view(request):
    """The Prometheus text format; with LC_METRICS_TOKEN set, only for `Bearer <token>`."""
    token = settings.LIVE_COMMENTS["METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponseForbidden("metrics need a token")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
