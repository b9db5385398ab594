"""Comments counted per second for the moments: by the gateways that store them, one process
at a time, and again from the start when comments go with a deleted user."""

import asyncio
import threading

import pytest
from django.db import connection, transaction

from comments import comment_seconds, periodic
from comments.comment_seconds import count_settled, per_bucket, start_ms
from comments.models import CommentSecond, CommentSecondsMark
from tests.replay import comment_at, end, started

pytestmark = pytest.mark.django_db(transaction=True)


def counted(stream) -> int:
    return sum(CommentSecond.objects.filter(stream=stream).values_list("count", flat=True))


async def test_the_gateway_that_stores_comments_counts_them(clients, alice, stream, monkeypatch):
    # Settled at once and counted every tick, so the test need not wait ten seconds.
    monkeypatch.setattr(comment_seconds, "SETTLED_MS", 0)
    monkeypatch.setattr(periodic, "COUNT_COMMENTS_SECONDS", 0.5)
    poster = await clients(alice)
    await poster.join(stream)
    for n in range(3):
        assert (await poster.post(stream, f"counted {n}"))["status"] == "accepted"

    total = 0
    for _ in range(60):  # a second's comments are counted once the second is over
        total = await asyncio.to_thread(counted, stream)
        if total == 3:
            break
        await asyncio.sleep(0.1)

    assert total == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has one writer; rows are not locked"
)
def test_a_stream_another_process_is_counting_is_left_to_it(alice, stream):
    end(started(stream, ago_ms=60_000), after_ms=30_000)
    comment_at(stream, alice, 1_000)
    start, now = start_ms(stream), start_ms(stream) + 60_000
    with transaction.atomic():
        count_settled(stream.id, start, start, wait=True)  # its mark, with nothing settled yet
    counting, done = threading.Event(), threading.Event()

    def other_process():
        with transaction.atomic():
            count_settled(stream.id, start, now, wait=True)
            counting.set()
            done.wait(5)
        connection.close()

    other = threading.Thread(target=other_process)
    other.start()
    try:
        assert counting.wait(5)
        with transaction.atomic():
            assert count_settled(stream.id, start, now, wait=False) is None
    finally:
        done.set()
        other.join()
    assert counted(stream) == 1  # once, by the other one


def test_deleting_a_user_counts_their_streams_again(alice, bob, stream):
    end(started(stream, ago_ms=60_000), after_ms=30_000)
    for offset in (1_000, 2_000):
        comment_at(stream, alice, offset)
    comment_at(stream, bob, 1_500)
    assert per_bucket(stream, 1_000, 30)[1:3] == [2, 1]
    assert CommentSecondsMark.objects.filter(stream=stream).exists()

    bob.delete()

    assert not CommentSecondsMark.objects.filter(stream=stream).exists() and counted(stream) == 0
    assert per_bucket(stream, 1_000, 30)[1:3] == [1, 1]
    assert counted(stream) == 2
