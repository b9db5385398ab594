"""Frames we send are not bound by the size limit on frames clients send (real daphne)."""

import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from comments.models import Comment
from livecomments.servers import MAX_MESSAGE_BYTES, SERVERS
from tests.clients import LiveClient
from tests.gateways import gateways

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL or "sqlite" in settings.DATABASES["default"]["ENGINE"],
        reason="gateway processes need PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)",
    ),
]


def long_comments(stream, author, count):
    now = timezone.now()
    Comment.objects.bulk_create(
        Comment(
            id=n + 1,
            stream=stream,
            author=author,
            content=f"{n} " + "é" * 490,
            idempotency_key=uuid.uuid4(),
            created_at=now,
            received_at=now,
        )
        for n in range(count)
    )


@pytest.mark.parametrize("server", SERVERS)
async def test_a_resume_backfill_over_the_incoming_frame_limit_arrives(
    tmp_path, alice, stream, server
):
    # 300 comments of ~1 KB (UTF-8) each: a backfill several times the 64 KiB that daphne
    # (through autobahn) also applies to outgoing frames unless we lift it.
    from asgiref.sync import sync_to_async

    await sync_to_async(long_comments)(stream, alice, 300)
    with gateways(tmp_path, 1, servers=(server,)) as (gateway,):
        ws = await LiveClient(port=gateway.port).connect()
        try:
            await ws.send("join_stream", streamId=str(stream.id), lastSeenCommentId="0")
            await ws.receive_type("stream_state")
            backfill = await ws.receive_type("comments_batch")
            assert len(backfill["comments"]) == 300

            # What clients send stays bounded: daphne fails a socket that sends too much.
            await ws.send_text("x" * (MAX_MESSAGE_BYTES + 1))
            await ws.socket.wait_closed()
            assert ws.socket.close_code in (1006, 1009)
        finally:
            await ws.close()
        assert "PayloadExceededError" not in gateway.log()
