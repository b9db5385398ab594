"""A process's FanOut: one layer channel, however many sockets connect at once."""

import asyncio

from livecomments.events import FanOut, publish, user_frame, user_group


async def test_groups_joined_by_concurrent_first_listeners_all_get_their_messages():
    # Sockets connect together when a gateway starts: the first listeners race to open the
    # process's channel. Each must end up on the one channel that is read.
    fanout = FanOut()
    heard: dict[str, list[str]] = {"a": [], "b": []}

    def listener(name):
        async def hear(message):
            heard[name].append(message["frame"])

        return hear

    try:
        await asyncio.gather(
            fanout.listen(user_group(1), listener("a")), fanout.listen(user_group(2), listener("b"))
        )
        await publish(user_group(1), user_frame("comment_reviewed", {"n": 1}))
        await publish(user_group(2), user_frame("comment_reviewed", {"n": 2}))
        async with asyncio.timeout(5):
            while not (heard["a"] and heard["b"]):
                await asyncio.sleep(0.02)
    finally:
        await fanout.close()

    assert len(heard["a"]) == len(heard["b"]) == 1
