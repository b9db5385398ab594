"""Every rule of a post (SPEC §3), over real WebSocket connections."""

import asyncio
import threading
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from comments import state
from comments.models import Comment
from comments.state.ratelimit import ADMITTED
from moderation.models import Ban, BlockedTerm
from streams.models import Stream

pytestmark = pytest.mark.django_db(transaction=True)


async def test_stream_limit_answers_rate_limited_with_retry_after(clients, alice, stream):
    client = await clients(alice)
    await client.join(stream)
    for n in range(5):
        assert (await client.post(stream, f"comment {n}"))["status"] == "accepted"

    ack = await client.post(stream, "one too many")

    assert ack["status"] == "rate_limited"
    assert ack["code"] == "RATE_LIMITED"
    assert ack["commentId"] is None
    assert 0 < ack["retryAfter"] <= 30
    assert await Comment.objects.filter(stream=stream).acount() == 5


async def test_a_first_post_is_answered_by_the_limits_while_the_database_thread_is_busy(
    clients, alice, stream
):
    tab = await clients(alice)
    await tab.join(stream)
    for n in range(5):
        assert (await tab.post(stream, f"comment {n}"))["status"] == "accepted"
    other_tab = await clients(alice)
    await other_tab.join(stream)

    # A flush waiting on the database holds its thread: a viewer's post needs nothing from
    # it before the write, so the limits still answer.
    release = threading.Event()
    holding = asyncio.ensure_future(database_sync_to_async(release.wait)())
    try:
        async with asyncio.timeout(10):
            ack = await other_tab.post(stream, "one too many")
    finally:
        release.set()
        await holding

    assert ack["status"] == "rate_limited"


async def test_global_limit_counts_every_stream(clients, alice, host, settings):
    settings.LIVE_COMMENTS = {**settings.LIVE_COMMENTS, "RATE_LIMIT_GLOBAL": (3, 60)}
    state.reset_for_tests()
    first = await Stream.objects.acreate(title="one", host=host)
    second = await Stream.objects.acreate(title="two", host=host)
    client = await clients(alice)
    await client.join(first)
    for n in range(2):
        assert (await client.post(first, f"on first {n}"))["status"] == "accepted"
    await client.join(second)
    assert (await client.post(second, "on second"))["status"] == "accepted"

    ack = await client.post(second, "over the global limit")

    assert ack["status"] == "rate_limited"
    assert 0 < ack["retryAfter"] <= 60


async def test_replays_do_not_count_against_limits(clients, alice, stream):
    client = await clients(alice)
    await client.join(stream)
    key = "0b7f7d4e-8a7b-4f4b-bb1e-55f0c7a3e3a1"
    first = await client.post(stream, "same", key=key)
    for _ in range(10):
        assert await client.post(stream, "same", key=key) == first
    for n in range(4):
        assert (await client.post(stream, f"new {n}"))["status"] == "accepted"


async def test_slow_mode_allows_one_comment_per_interval(clients, alice, host):
    stream = await Stream.objects.acreate(title="slow", host=host, slow_mode_seconds=20)
    client = await clients(alice)
    await client.join(stream)
    assert (await client.post(stream, "first"))["status"] == "accepted"

    ack = await client.post(stream, "too soon")

    assert ack["status"] == "rate_limited"
    assert 15 < ack["retryAfter"] <= 20


# A NUL cannot be stored in PostgreSQL's text: refused alone, it never fails a flush.
@pytest.mark.parametrize("content", ["", "   \n\t ", "x" * 501, "a\x00b"])
async def test_it_rejects_empty_overlong_or_unstorable_content(clients, alice, stream, content):
    client = await clients(alice)
    await client.join(stream)
    ack = await client.post(stream, content)
    assert ack["status"] == "rejected"
    assert ack["code"] == "CONTENT_VIOLATION"
    assert await Comment.objects.acount() == 0


async def test_it_accepts_500_characters_after_trimming(clients, alice, stream):
    client = await clients(alice)
    await client.join(stream)
    ack = await client.post(stream, "  " + "y" * 500 + "  ")
    assert ack["status"] == "accepted"


async def test_it_rejects_blocked_terms_as_whole_words(clients, alice, stream):
    await BlockedTerm.objects.acreate(term="Spoiler")
    client = await clients(alice)
    await client.join(stream)

    refused = await client.post(stream, "big SPOILER: he wins")
    allowed = await client.post(stream, "no spoilers please")

    assert (refused["status"], refused["code"]) == ("rejected", "CONTENT_VIOLATION")
    assert allowed["status"] == "accepted"


async def test_it_rejects_posts_to_an_ended_stream(clients, alice, stream):
    client = await clients(alice)
    await client.join(stream)
    await Stream.objects.filter(id=stream.id).aupdate(status=Stream.Status.ENDED)

    ack = await client.post(stream, "too late")

    assert (ack["status"], ack["code"]) == ("rejected", "STREAM_ENDED")


async def test_a_banned_users_next_post_is_refused(clients, alice, stream):
    client = await clients(alice)
    await client.join(stream)
    await Ban.objects.acreate(user=alice, stream=stream)

    ack = await client.post(stream, "let me in")

    assert (ack["status"], ack["code"]) == ("rejected", "BANNED")


async def test_a_site_wide_banned_user_joins_and_reads_but_posts_are_refused(
    clients, alice, stream
):
    await Ban.objects.acreate(user=alice, stream=None, reason="abuse")
    client = await clients(alice)

    state, backfill = await client.join(stream)

    assert state["restriction"] == {"code": "BANNED", "until": None, "reason": "abuse"}
    assert backfill["isBackfill"] is True
    ack = await client.post(stream, "am I in?")
    assert (ack["status"], ack["code"]) == ("rejected", "BANNED")


async def test_an_expired_ban_no_longer_applies(clients, alice, stream):
    await Ban.objects.acreate(
        user=alice, stream=stream, expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = await clients(alice)
    await client.join(stream)
    assert (await client.post(stream, "back again"))["status"] == "accepted"


async def test_posting_without_joining_is_not_joined(clients, alice, stream, host):
    other = await Stream.objects.acreate(title="other", host=host)
    client = await clients(alice)
    ack = await client.post(stream, "hello?")
    assert (ack["status"], ack["code"]) == ("rejected", "NOT_JOINED")

    await client.join(other)
    ack = await client.post(stream, "wrong stream")
    assert ack["code"] == "NOT_JOINED"


async def test_leaving_stops_posting_and_delivery(clients, alice, bob, stream):
    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)
    await viewer.send("leave_stream")
    await asyncio.sleep(0.05)

    assert (await poster.post(stream, "anyone?"))["status"] == "accepted"
    await viewer.nothing_more(timeout=0.4)
    assert (await viewer.post(stream, "me"))["code"] == "NOT_JOINED"


async def test_anonymous_viewers_watch_but_cannot_post_or_react(clients, alice, stream):
    anonymous = await clients()
    await anonymous.join(stream)
    ack = await anonymous.post(stream, "hi")
    assert (ack["status"], ack["code"]) == ("rejected", "UNAUTHORIZED")
    await anonymous.send("react", streamId=str(stream.id), reactionType="like")
    assert (await anonymous.receive_type("error"))["code"] == "UNAUTHORIZED"

    poster = await clients(alice)
    await poster.join(stream)
    await poster.post(stream, "visible to all")
    [comment] = await anonymous.live_comments(1)
    assert comment["content"] == "visible to all"


async def test_join_refuses_a_user_id_that_is_not_the_socket_user(clients, alice, bob, stream):
    client = await clients(alice)
    await client.send("join_stream", streamId=str(stream.id), userId=str(bob.id))
    assert (await client.receive_type("error"))["code"] == "UNAUTHORIZED"


async def test_join_of_an_unknown_stream_is_stream_not_found(clients, alice):
    client = await clients(alice)
    await client.send("join_stream", streamId="987654321")
    error = await client.receive_type("error")
    assert error == {
        "code": "STREAM_NOT_FOUND",
        "message": "There is no such stream.",
        "retryable": False,
    }


async def test_host_and_moderator_comments_are_highlighted(clients, host, moderator, alice, stream):
    # The viewer only reads: a post of its own would wait for its ack past the batches.
    viewer = await clients(alice)
    await viewer.join(stream)
    for user in (host, moderator, alice):
        client = await clients(user)
        await client.join(stream)
        await client.post(stream, f"from {user.username}")

    comments = await viewer.live_comments(3)

    highlighted = {c["username"]: c["isHighlighted"] for c in comments}
    assert highlighted == {"hannah": True, "mona": True, "alice": False}


async def test_replies_carry_their_parent(clients, alice, bob, stream, host):
    client = await clients(alice)
    await client.join(stream)
    parent = await client.post(stream, "question?")
    reply = await client.post(stream, "answer", parentId=parent["commentId"])
    assert reply["status"] == "accepted"
    stored = await Comment.objects.aget(id=int(reply["commentId"]))
    assert stored.parent_id == int(parent["commentId"])

    other = await Stream.objects.acreate(title="elsewhere", host=host)
    await client.join(other)
    ack = await client.post(other, "cross-stream reply", parentId=parent["commentId"])
    assert (ack["status"], ack["code"]) == ("rejected", "INVALID_MESSAGE")


async def test_simultaneous_submissions_of_one_key_store_one_comment(clients, alice, stream):
    first = await clients(alice)
    second = await clients(alice)
    await first.join(stream)
    await second.join(stream)
    key = "3a4b5c6d-0000-4000-8000-000000000001"
    for client in (first, second):
        await client.send(
            "post_comment", streamId=str(stream.id), content="twin", idempotencyKey=key
        )

    acks = [await client.receive_type("ack") for client in (first, second)]

    assert acks[0] == acks[1]
    assert acks[0]["status"] == "accepted"
    assert await Comment.objects.filter(stream=stream).acount() == 1


async def test_a_key_counts_once_against_the_limits_even_when_its_gateway_died(
    clients, alice, stream
):
    # As a gateway that counted these posts and died before storing or answering them.
    keys = [str(uuid.uuid4()) for _ in range(5)]
    for key in keys:
        assert await state.rate_limiter().admit(alice.id, stream.id, 0, key) == ADMITTED
    client = await clients(alice)
    await client.join(stream)

    retried = [await client.post(stream, f"retry {n}", key=key) for n, key in enumerate(keys)]

    assert [ack["status"] for ack in retried] == ["accepted"] * 5
    # A sixth, new key is over the stream's limit of 5: the retries were not counted twice.
    assert (await client.post(stream, "one more"))["status"] == "rate_limited"
