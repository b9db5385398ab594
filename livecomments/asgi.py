"""ASGI entry point: HTTP goes to Django, /ws/live/ to the live-comments consumer."""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livecomments.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from comments.auth import SessionOrTokenAuthMiddleware  # noqa: E402
from comments.limits import SocketLimits  # noqa: E402
from comments.partitions import MissingPartition, require_current_partition  # noqa: E402
from comments.routing import websocket_urlpatterns  # noqa: E402
from comments.shutdown import GracefulShutdown  # noqa: E402

try:
    require_current_partition()
except MissingPartition as missing:
    # A gateway without this week's partition would refuse every post: refuse to start.
    sys.exit(f"livecomments gateway not started: {missing}")

# Outermost: SIGTERM drains and closes every socket. Foreign origins are refused before
# they count against their address's socket cap.
application = GracefulShutdown(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                SocketLimits(SessionOrTokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
            ),
        }
    )
)
