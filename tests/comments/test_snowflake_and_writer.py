"""Snowflake IDs and the group-commit writer's durable idempotency."""

import asyncio
import math
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comments import state
from comments.models import Comment
from comments.snowflake import MAX_WORKER, SnowflakeGenerator, timestamp_ms
from comments.writer import CommentWriter, Stored, store_posts
from livecomments.errors import RateLimited
from moderation.models import BlockedTerm
from tests.posts import writer_post


def test_ids_increase_and_carry_their_time():
    generator = SnowflakeGenerator(5, clock=lambda: 1_800_000_000.0)
    ids = [generator.next_id() for _ in range(10_000)]  # more than one millisecond's worth
    assert ids == sorted(set(ids))
    assert timestamp_ms(ids[0]) == 1_800_000_000_000
    assert all(i < 2**63 for i in ids)


def test_ids_of_different_workers_never_collide():
    clock = lambda: 1_800_000_000.0  # noqa: E731 - the same instant for both
    a = {SnowflakeGenerator(1, clock).next_id() for _ in range(1)}
    b = {SnowflakeGenerator(2, clock).next_id() for _ in range(1)}
    assert not a & b


def test_a_clock_that_steps_back_does_not_repeat_ids():
    times = iter([2_000_000_000.0, 1_999_999_999.0, 1_999_999_999.0])
    generator = SnowflakeGenerator(MAX_WORKER, clock=lambda: next(times))
    first, second, third = (generator.next_id() for _ in range(3))
    assert first < second < third


@pytest.mark.django_db
def test_twins_in_one_flush_store_one_comment(alice, stream):
    key = str(uuid.uuid4())
    first, second = store_posts(
        [writer_post(alice, stream.id, key=key), writer_post(alice, stream.id, key=key)]
    )
    assert isinstance(first, Stored) and isinstance(second, Stored)
    assert first.comment_id == second.comment_id
    assert [first.comment is None, second.comment is None].count(True) == 1
    assert Comment.objects.count() == 1


@pytest.mark.django_db
def test_a_key_stored_before_is_answered_from_the_database(alice, stream):
    key = str(uuid.uuid4())
    [original] = store_posts([writer_post(alice, stream.id, key=key)])
    [retry] = store_posts([writer_post(alice, stream.id, key=key)])
    assert retry == Stored(original.comment_id, None)


@pytest.mark.django_db
def test_one_flush_is_one_insert_whatever_its_size(alice, bob, stream):
    BlockedTerm.objects.create(term="nope")
    # Claims the worker number, and reads (and keeps) both authors' rules.
    store_posts([writer_post(user, stream.id) for user in (alice, bob)])
    posts = [writer_post(user, stream.id, f"n{i}") for i in range(200) for user in (alice, bob)]
    with CaptureQueriesContext(connection) as queries:
        outcomes = store_posts(posts)
    assert all(isinstance(o, Stored) and o.comment is not None for o in outcomes)
    assert Comment.objects.count() == 402
    inserts = [q for q in queries if 'INTO "comments_comment"' in q["sql"]]
    claims = [q for q in queries if 'INTO "comments_commentkey"' in q["sql"]]
    # One INSERT of comments on PostgreSQL (SQLite caps the parameters of one statement),
    # and one claim of their keys that says which took.
    per_insert = connection.ops.bulk_batch_size(Comment._meta.concrete_fields, posts)
    assert len(inserts) == math.ceil(len(posts) / per_insert)
    assert len(claims) == 1
    # the rules' token, savepoints; and the inserts (the rules themselves were read by the
    # first flush and kept: tests/comments/test_rule_reads.py)
    assert len(queries) <= 3 + len(inserts) + len(claims), [q["sql"][:80] for q in queries]


@pytest.mark.django_db(transaction=True)
async def test_posts_arriving_close_together_share_one_flush(alice, bob, stream):
    flushes: list[list[int]] = []

    async def after_commit(stored):
        flushes.append([result.comment_id for _, result in stored])

    writer = CommentWriter(after_commit, gather_seconds=0.2)
    lone = await writer.submit(writer_post(alice, stream.id))
    # The next post comes soon after that one: more are likely, so the writer gathers.
    first = asyncio.ensure_future(writer.submit(writer_post(bob, stream.id)))
    await asyncio.sleep(0.05)  # well inside the gathering, as a third poster's post would be
    second = asyncio.ensure_future(writer.submit(writer_post(alice, stream.id, "also")))
    stored = await asyncio.gather(first, second)

    assert flushes == [[lone.comment_id], [result.comment_id for result in stored]]
    assert await Comment.objects.acount() == 3


@pytest.mark.django_db(transaction=True)
async def test_a_post_after_a_quiet_spell_is_written_without_gathering(alice, stream):
    async def after_commit(stored):
        pass

    writer = CommentWriter(after_commit, gather_seconds=3600)
    # Nothing would share its flush; gathering, it would wait an hour.
    stored = await asyncio.wait_for(writer.submit(writer_post(alice, stream.id)), 30)

    assert await Comment.objects.filter(id=stored.comment_id).aexists()


@pytest.mark.django_db(transaction=True)
async def test_a_flush_admits_its_posts_together_and_passes_on_only_what_it_stored(
    alice, bob, stream
):
    flushes: list[list[int]] = []

    async def after_commit(stored):
        flushes.append([result.comment_id for _, result in stored])

    writer = CommentWriter(after_commit, gather_seconds=0.2)
    lone_key = str(uuid.uuid4())
    lone = await writer.submit(writer_post(alice, stream.id, key=lone_key))
    # As the gateway's after-commit work does: a retry of the key is answered by the limiter.
    await state.idempotency_store().remember([(alice.id, lone_key, lone.comment_id)])
    # Gathered into one flush: a retry of the lone post's key, four more of alice's posts
    # (the stream's limit is 5 in 30 s), one over the limit, and one of bob's.
    posts = [
        writer_post(alice, stream.id, key=lone_key),
        *(writer_post(alice, stream.id, f"more {n}") for n in range(4)),
        writer_post(alice, stream.id, "one too many"),
        writer_post(bob, stream.id),
    ]
    outcomes = await asyncio.gather(*(writer.submit(p) for p in posts), return_exceptions=True)

    retry, *more, too_many, bobs = outcomes
    assert retry == Stored(lone.comment_id, None)
    assert all(isinstance(o, Stored) and o.comment is not None for o in [*more, bobs])
    assert isinstance(too_many, RateLimited) and too_many.retry_after > 0
    # The retry's comment went out when it was stored: only the new ones are passed on.
    assert flushes == [[lone.comment_id], [o.comment_id for o in [*more, bobs]]]
    assert await Comment.objects.acount() == 6
