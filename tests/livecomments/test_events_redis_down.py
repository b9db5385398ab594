"""A process that could not listen on a group while Redis was down listens once it is back
(a Sentinel failover or a lost shard must not leave a gateway deaf to a stream)."""

import asyncio

import pytest
import redis
from channels.layers import get_channel_layer

from livecomments.events import FanOut, publish
from tests.redis_servers import missing_binaries, running

pytestmark = pytest.mark.skipif(missing_binaries() is not None, reason=str(missing_binaries()))


async def test_a_listen_refused_while_redis_was_down_is_made_again(settings):
    with running() as servers:
        server = servers.server()
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [{"address": server.url, "socket_timeout": None}]},
            }
        }
        fanout = FanOut()
        heard: list[dict] = []

        async def listener(message: dict) -> None:
            heard.append(message)

        try:
            server.kill()
            with pytest.raises(redis.ConnectionError):
                await fanout.listen("stream.2", listener)
            server.start()
            await fanout.listen("stream.2", listener)
            for _ in range(100):
                await publish("stream.2", {"type": "stream.frame", "frame": "{}"})
                if heard:
                    break
                await asyncio.sleep(0.05)
            assert heard and heard[0]["group"] == "stream.2"
        finally:
            await fanout.close()
            await get_channel_layer().flush()
