"""Two real daphne processes on one PostgreSQL and one Redis behave as one system."""

import asyncio
import uuid

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from comments.models import Comment
from tests.clients import LiveClient
from tests.gateways import gateways

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL or "sqlite" in settings.DATABASES["default"]["ENGINE"],
        reason="several gateways need PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)",
    ),
]


@pytest.mark.parametrize(
    "servers", [("daphne", "daphne"), ("daphne", "uvicorn")], ids=["daphne", "daphne+uvicorn"]
)
async def test_comments_counts_and_ids_cross_gateways(
    tmp_path, alice, bob, charlie, stream, servers
):
    with gateways(tmp_path, 2, servers=servers) as (first, second):
        poster = await LiveClient(alice, port=first.port).connect()
        viewer = await LiveClient(bob, port=second.port).connect()
        other_poster = await LiveClient(charlie, port=second.port).connect()
        try:
            for ws in (poster, viewer, other_poster):
                await ws.join(stream)

            counts = []
            while not counts or counts[-1] != 3:
                counts.append((await viewer.receive_type("viewer_count", timeout=8))["count"])

            acks = []
            for n in range(5):
                acks.append(await poster.post(stream, f"from the first gateway {n}"))
                acks.append(await other_poster.post(stream, f"from the second gateway {n}"))
            assert all(ack["status"] == "accepted" for ack in acks)

            seen = []
            while len(seen) < len(acks):
                batch = await viewer.receive_type("comments_batch", timeout=5)
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
        viewer = await LiveClient(bob, port=gateway.port).connect()
        try:
            await viewer.join(stream)
            await asyncio.sleep(7)
            poster = await LiveClient(alice, port=gateway.port).connect()
            await poster.join(stream)
            ack = await poster.post(stream, "still there?")
            batch = await viewer.receive_type("comments_batch")
            assert [c["id"] for c in batch["comments"]] == [ack["commentId"]]
            await poster.close()
        finally:
            await viewer.close()


async def test_a_frame_over_64_kib_closes_only_that_socket(tmp_path, alice, bob, stream):
    with gateways(tmp_path, 1) as (gateway,):
        sender = await LiveClient(alice, port=gateway.port).connect()
        bystander = await LiveClient(bob, port=gateway.port).connect()
        try:
            await bystander.join(stream)
            await sender.send_text("x" * (64 * 1024 + 10))
            with pytest.raises(ConnectionClosed) as closed:
                await sender.receive(timeout=5)
            # daphne fails the connection: a 1009 close frame, or the TCP connection dropped.
            assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
            poster = await LiveClient(alice, port=gateway.port).connect()
            await poster.join(stream)
            await poster.post(stream, "life goes on")
            batch = await bystander.receive_type("comments_batch")
            assert batch["comments"][0]["content"] == "life goes on"
            await poster.close()
        finally:
            await bystander.close()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_poster_gone_before_its_acks_has_its_comments_stored_and_logs_nothing(
    tmp_path, alice, stream, server
):
    with gateways(tmp_path, 1, servers=(server,)) as (gateway,):
        poster = await LiveClient(alice, port=gateway.port).connect()
        await poster.join(stream)
        for n in range(5):
            await poster.send(
                "post_comment", streamId=str(stream.id), content=f"gone {n}",
                idempotencyKey=str(uuid.uuid4()),
            )  # fmt: skip
        await poster.close()  # before any ack: the writer gathers for 10 ms first
        stored = Comment.objects.filter(stream=stream, author=alice)
        for _ in range(200):
            if await stored.acount() == 5:
                break
            await asyncio.sleep(0.05)
        assert sorted([c async for c in stored.values_list("content", flat=True)]) == [
            f"gone {n}" for n in range(5)
        ]
        await asyncio.sleep(0.5)  # any error the acks raised is logged by now
        assert "Traceback" not in gateway.log(), gateway.log()
