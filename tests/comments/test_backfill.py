"""Backfill on join and resume after lastSeenCommentId, from the cache or the database."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from comments import state
from comments.models import Comment
from comments.selectors import backfill
from tests.comments.stored import store_comments

pytestmark = pytest.mark.django_db(transaction=True)


def make_comments(stream, author, count, **extra):
    return [row.id for row in store_comments(stream, author, count, **extra)]


amake_comments = sync_to_async(make_comments)


def ids_of(comments):
    return [int(c["id"]) for c in comments]


async def test_fresh_join_gets_the_newest_50_ascending(clients, alice, stream):
    ids = await amake_comments(stream, alice, 70)
    client = await clients(alice)
    _, backfill_payload = await client.join(stream)
    assert ids_of(backfill_payload["comments"]) == ids[-50:]


async def test_resume_gets_everything_after_the_last_seen_comment(clients, alice, stream):
    ids = await amake_comments(stream, alice, 120)
    client = await clients(alice)
    _, backfill_payload = await client.join(stream, lastSeenCommentId=str(ids[9]))
    assert ids_of(backfill_payload["comments"]) == ids[10:]


async def test_resume_after_more_than_1000_gets_the_newest_1000(clients, alice, stream):
    ids = await amake_comments(stream, alice, 1100)
    client = await clients(alice)
    _, backfill_payload = await client.join(stream, lastSeenCommentId=str(ids[0]))
    assert ids_of(backfill_payload["comments"]) == ids[-1000:]


async def test_hidden_comments_never_appear(clients, alice, stream):
    visible = await amake_comments(stream, alice, 3)
    await amake_comments(stream, alice, 2, is_hidden=True)
    client = await clients(alice)
    _, backfill_payload = await client.join(stream)
    assert ids_of(backfill_payload["comments"]) == visible


async def test_the_cache_serves_joins_and_follows_new_comments(clients, alice, bob, stream):
    ids = await amake_comments(stream, alice, 5)
    poster = await clients(alice)
    await poster.join(stream)  # loads the cache from the database
    ack = await poster.post(stream, "after the load")

    _, cached = await state.recent_comments().read(stream.id)
    assert cached is not None
    assert ids_of(cached.comments) == [*ids, int(ack["commentId"])]

    late = await clients(bob)
    _, backfill_payload = await late.join(stream, lastSeenCommentId=str(ids[-1]))
    assert ids_of(backfill_payload["comments"]) == [int(ack["commentId"])]


async def test_an_invalidated_cache_forgets_hidden_comments(alice, stream):
    ids = await amake_comments(stream, alice, 4)
    recent = state.recent_comments()
    assert ids_of(await backfill(stream.id, None)) == ids
    await Comment.objects.filter(id=ids[1]).aupdate(is_hidden=True)
    await recent.invalidate(stream.id, hidden_ids=[ids[1]])

    assert ids_of(await backfill(stream.id, None)) == [ids[0], ids[2], ids[3]]


def test_a_load_that_raced_an_invalidation_is_dropped(alice, stream):
    recent = state.recent_comments()

    async def race():
        generation, _ = await recent.read(stream.id)
        await recent.invalidate(stream.id)
        await recent.load(stream.id, generation, [])
        return await recent.read(stream.id)

    _, cached = async_to_sync(race)()
    assert cached is None
