"""Two real daphne processes on one PostgreSQL and one Redis behave as one system."""

import asyncio
import uuid

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from comments.models import Comment
from tests.gateways import gateways, ws_connect, ws_receive_type, ws_send

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL or "sqlite" in settings.DATABASES["default"]["ENGINE"],
        reason="several gateways need PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)",
    ),
]


async def join(ws, stream):
    await ws_send(ws, "join_stream", streamId=str(stream.id))
    await ws_receive_type(ws, "stream_state")
    return await ws_receive_type(ws, "comments_batch")


async def post(ws, stream, content):
    key = str(uuid.uuid4())
    await ws_send(ws, "post_comment", streamId=str(stream.id), content=content, idempotencyKey=key)
    ack = await ws_receive_type(ws, "ack")
    assert ack["idempotencyKey"] == key
    return ack


@pytest.mark.parametrize(
    "servers", [("daphne", "daphne"), ("daphne", "uvicorn")], ids=["daphne", "daphne+uvicorn"]
)
async def test_comments_counts_and_ids_cross_gateways(
    tmp_path, alice, bob, charlie, stream, servers
):
    with gateways(tmp_path, 2, servers=servers) as (first, second):
        poster = await ws_connect(first, alice)
        viewer = await ws_connect(second, bob)
        other_poster = await ws_connect(second, charlie)
        try:
            for ws in (poster, viewer, other_poster):
                await join(ws, stream)

            counts = []
            while not counts or counts[-1] != 3:
                counts.append((await ws_receive_type(viewer, "viewer_count", timeout=8))["count"])

            acks = []
            for n in range(5):
                acks.append(await post(poster, stream, f"from the first gateway {n}"))
                acks.append(await post(other_poster, stream, f"from the second gateway {n}"))
            assert all(ack["status"] == "accepted" for ack in acks)

            seen = []
            while len(seen) < len(acks):
                batch = await ws_receive_type(viewer, "comments_batch", timeout=5)
                seen.extend(c["id"] for c in batch["comments"])
            assert sorted(seen) == sorted(ack["commentId"] for ack in acks)
            assert len(set(seen)) == len(seen)
            stored = await Comment.objects.filter(stream=stream).acount()
            assert stored == len(acks)
        finally:
            for ws in (poster, viewer, other_poster):
                await ws.close()


async def test_an_idle_socket_stays_open_and_receives(tmp_path, alice, bob, stream):
    """redis-py 8 times out idle reads after 5 s; channels-redis then dropped sockets."""
    with gateways(tmp_path, 1) as (gateway,):
        viewer = await ws_connect(gateway, bob)
        try:
            await join(viewer, stream)
            await asyncio.sleep(7)
            poster = await ws_connect(gateway, alice)
            await join(poster, stream)
            ack = await post(poster, stream, "still there?")
            batch = await ws_receive_type(viewer, "comments_batch")
            assert [c["id"] for c in batch["comments"]] == [ack["commentId"]]
            await poster.close()
        finally:
            await viewer.close()


async def test_a_frame_over_64_kib_closes_only_that_socket(tmp_path, alice, bob, stream):
    with gateways(tmp_path, 1) as (gateway,):
        sender = await ws_connect(gateway, alice)
        bystander = await ws_connect(gateway, bob)
        try:
            await join(bystander, stream)
            await sender.send("x" * (64 * 1024 + 10))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(sender.recv(), 5)
            # daphne fails the connection: a 1009 close frame, or the TCP connection dropped.
            assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
            poster = await ws_connect(gateway, alice)
            await join(poster, stream)
            await post(poster, stream, "life goes on")
            batch = await ws_receive_type(bystander, "comments_batch")
            assert batch["comments"][0]["content"] == "life goes on"
            await poster.close()
        finally:
            await bystander.close()
