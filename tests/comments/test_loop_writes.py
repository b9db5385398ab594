"""The flush's statement on the event loop's own PostgreSQL connection (storing.LoopConnection).

A flush whose rules are all in memory is stored there; one that needs a query, a changed
rule or a broken connection goes through Django's connection, and nothing is lost.
"""

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY

from comments import rule_reads, snowflake
from comments.models import Comment
from comments.storing import LoopConnection
from comments.writer import _decide, _facts_in_memory, _store_decided_again, store_posts
from moderation.models import Ban
from tests.posts import writer_post

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="only PostgreSQL's statement goes on the loop; SQLite's goes through Django",
    ),
    pytest.mark.django_db(transaction=True),
]


def flushes(via: str) -> float:
    return REGISTRY.get_sample_value("livecomments_writer_flushes_total", {"via": via}) or 0.0


async def warmed_up(clients, stream, viewer_user, poster_user):
    """A viewer and a poster joined to the stream, once the poster's first post is seen: it
    read the poster's rules through Django, which are kept from then on."""
    viewer = await clients(viewer_user)
    await viewer.join(stream)
    poster = await clients(poster_user)
    await poster.join(stream)
    await poster.post(stream, "first")
    await viewer.live_comments(1)
    return viewer, poster


async def test_a_post_whose_rules_are_in_memory_is_stored_on_the_loop(alice, bob, stream, clients):
    viewer, poster = await warmed_up(clients, stream, bob, alice)
    on_loop, in_thread = flushes("loop"), flushes("thread")

    ack = await poster.post(stream, "second")

    [seen] = await viewer.live_comments(1)
    assert seen["id"] == ack["commentId"] and seen["content"] == "second"
    assert await Comment.objects.filter(id=int(ack["commentId"]), content="second").aexists()
    assert (flushes("loop"), flushes("thread")) == (on_loop + 1, in_thread)

    # A reply reads its parent from the database: through Django.
    reply = await poster.post(stream, "a reply", parentId=ack["commentId"])
    [seen] = await viewer.live_comments(1)
    assert seen["id"] == reply["commentId"] and seen["parentId"] == ack["commentId"]
    assert (flushes("loop"), flushes("thread")) == (on_loop + 1, in_thread + 1)


async def test_a_rule_changed_since_the_reads_were_kept_is_obeyed(alice, stream, clients):
    poster = await clients(alice)
    await poster.join(stream)
    await poster.post(stream, "before the ban")
    # Changes the rules' token: the loop's statement stores nothing under the old one, and
    # the flush is decided again through Django under the new.
    await Ban.objects.acreate(user=alice, stream=stream)
    on_loop = flushes("loop")

    ack = await poster.post(stream, "after")

    assert (ack["status"], ack["code"]) == ("rejected", "BANNED")
    assert not await Comment.objects.filter(content="after").aexists()
    assert flushes("loop") == on_loop


async def test_a_broken_loop_connection_stores_through_django_and_reconnects(
    alice, bob, stream, clients
):
    viewer, poster = await warmed_up(clients, stream, bob, alice)
    await poster.post(stream, "on the loop")
    await viewer.live_comments(1)
    # As a database restart or an idle timeout would: the server ends the loop's connection.
    await sync_to_async(_terminate_loop_connections)()
    on_loop, in_thread = flushes("loop"), flushes("thread")

    ack = await poster.post(stream, "after the break")

    [seen] = await viewer.live_comments(1)
    assert seen["id"] == ack["commentId"]
    assert await Comment.objects.filter(content="after the break").acount() == 1
    assert (flushes("loop"), flushes("thread")) == (on_loop, in_thread + 1)
    # The next flush connects anew.
    await poster.post(stream, "and on")
    await viewer.live_comments(1)
    assert flushes("loop") == on_loop + 1


async def test_a_statement_that_committed_unseen_is_stored_once_and_passed_on(alice, stream):
    posts = [writer_post(alice, stream.id, "sent twice")]
    # Reads and keeps alice's rules, and claims the worker number for ids.
    await sync_to_async(store_posts)([writer_post(alice, stream.id, "warm")])
    now = timezone.now()
    reads = rule_reads.last()
    facts = _facts_in_memory(posts, reads, now)
    assert facts is not None
    decision = _decide(posts, facts, snowflake.generator(), now)
    [row] = decision.rows.values()
    loop_connection = LoopConnection()
    try:
        # The statement commits, but (say) the connection breaks before its answer arrives.
        await loop_connection.store_rows([row], reads.token)
    finally:
        await loop_connection.close()

    [outcome] = await sync_to_async(_store_decided_again)(posts, decision, reads.token, now)

    # Its own comment, found claimed by itself: new, so broadcast; not a second row.
    assert outcome.comment_id == row.id and outcome.comment is not None
    assert await Comment.objects.filter(content="sent twice").acount() == 1


def _terminate_loop_connections() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [LoopConnection.APPLICATION_NAME],
        )
        assert cursor.fetchone()[0] == 1
