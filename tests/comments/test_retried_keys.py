"""A post's key counts once against the rate limits (SPEC §3), even when the gateway that
counted it is killed before it answers and the client retries the key on another."""

import asyncio
import signal
import uuid

import psycopg
import pytest
import redis
from django.conf import settings

from comments.models import Comment
from tests.clients import LiveClient
from tests.gateways import gateway_database_url, gateways

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL or "sqlite" in settings.DATABASES["default"]["ENGINE"],
        reason="several gateways need PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)",
    ),
]


async def counted(user_id: int, keys: list[str]) -> bool:
    """Whether the rate limiter has counted every one of these keys."""
    store = redis.Redis.from_url(settings.REDIS_URL)
    return all(store.exists(f"rl:counted:{user_id}:{key}") for key in keys)


async def test_keys_counted_by_a_gateway_killed_before_answering_are_accepted_elsewhere(
    tmp_path, alice, stream
):
    keys = [str(uuid.uuid4()) for _ in range(5)]  # the stream's whole limit of 5
    with gateways(tmp_path, 2) as (first, second):
        # A socket handles its frames one at a time: one socket a post, so that all five are
        # in flight at once, as posts from several tabs or a burst of retries would be.
        posters = [await LiveClient(alice, port=first.port).connect() for _ in keys]
        for poster in posters:
            await poster.join(stream)
        # The writer's INSERT waits on this lock: the first flush's posts are counted, never
        # stored. The writer admits a flush's posts together, so those queued behind it are
        # not counted yet: retried, they count once, the first flush's keys not again.
        with psycopg.connect(gateway_database_url(), autocommit=False) as lock:
            lock.execute(f"LOCK TABLE {Comment._meta.db_table} IN EXCLUSIVE MODE")
            for n, (poster, key) in enumerate(zip(posters, keys, strict=True)):
                await poster.send(
                    "post_comment", streamId=str(stream.id), content=f"try {n}", idempotencyKey=key
                )
            for _ in range(100):
                if await counted(alice.id, keys[:1]):
                    break
                await asyncio.sleep(0.05)
            assert await counted(alice.id, keys[:1])
            first.stop(signal.SIGKILL)
            lock.rollback()
        for poster in posters:
            await poster.close()

        retrying = await LiveClient(alice, port=second.port).connect()
        await retrying.join(stream)
        acks = [await retrying.post(stream, f"try {n}", key=key) for n, key in enumerate(keys)]
        await retrying.close()

    assert [ack["status"] for ack in acks] == ["accepted"] * 5
    assert await Comment.objects.filter(stream=stream).acount() == 5
