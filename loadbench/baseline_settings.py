"""Settings of the baseline gateway: the project's, on the core Redis channel layer.

The core layer is what the Channels tutorial uses: each `group_send` reads the group's
members from Redis and pushes one copy per member into that member's bounded list,
dropping silently once a list holds `capacity` messages.
"""

from livecomments.settings import *  # noqa: F403
from livecomments.settings import REDIS_URL

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # socket_timeout=None as in the project's settings: redis-py 8 otherwise times out
        # a consumer's idle 5-second BZPOPMIN and kills that socket's consumer.
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            "prefix": "loadbench-baseline",
        },
    }
}
