"""Settings of the baseline gateway: the project's, on the core Redis channel layer.

The core layer is what the Channels tutorial uses: each `group_send` reads the group's
members from Redis and pushes one copy per member into that member's bounded list,
dropping silently once a list holds `capacity` messages. With several servers in
REDIS_URL it spreads channels and groups over them, as our layer does.
"""

from livecomments.redis_url import channel_layer_hosts, parse_redis_url
from livecomments.settings import *  # noqa: F403
from livecomments.settings import REDIS_URL

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": channel_layer_hosts(parse_redis_url(REDIS_URL)),
            "prefix": "loadbench-baseline",
        },
    }
}
