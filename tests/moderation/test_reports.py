"""Reports (SPEC §3): a signed-in viewer reports a comment once; moderating sockets are told
each time the count changes; at three distinct reporters the comment leaves the feed and
is held for review. Over real WebSocket connections."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from comments.models import Comment
from moderation.models import Report
from tests.conftest import make_user

from .conftest import add_comment
from .test_moderating_sockets import act, moderating

pytestmark = pytest.mark.django_db(transaction=True)


async def report(client, stream, comment_id, reason="spam", key=None):
    await client.send(
        "report",
        streamId=str(stream.id),
        commentId=str(comment_id),
        reason=reason,
        idempotencyKey=key or str(uuid.uuid4()),
    )
    return await client.receive_type("ack")


async def reporters(clients, stream, count, django_user_model):
    made = []
    for n in range(count):
        user = await sync_to_async(make_user)(django_user_model, f"reporter{n}")
        client = await clients(user)
        await client.join(stream)
        made.append(client)
    return made


async def test_a_report_is_counted_once_per_reporter_and_moderators_see_the_count(
    clients, alice, bob, moderator, stream
):
    comment = await sync_to_async(add_comment)(stream, alice, "rude words")
    console, _ = await moderating(clients, moderator, stream)
    viewer = await clients(bob)
    await viewer.join(stream)

    first = await report(viewer, stream, comment.id, "harassment")
    again = await report(viewer, stream, comment.id, "spam")

    assert (first["status"], first["commentId"]) == ("accepted", str(comment.id))
    assert again["status"] == "accepted"
    told = await console.receive_type("comment_reported")
    assert told["report"]["commentId"] == str(comment.id)
    assert (told["report"]["count"], told["report"]["reasons"]) == (1, {"harassment": 1})
    await console.nothing_more(timeout=0.5)
    assert await Report.objects.acount() == 1


async def test_three_reporters_take_the_comment_out_of_the_feed_and_hold_it(
    clients, alice, moderator, stream, django_user_model
):
    comment = await sync_to_async(add_comment)(stream, alice, "spam spam spam")
    console, _ = await moderating(clients, moderator, stream)
    three = await reporters(clients, stream, 3, django_user_model)

    for client in three:
        await report(client, stream, comment.id)

    removed = await three[0].receive_type("comments_removed")
    assert removed["commentIds"] == [str(comment.id)]
    held = await console.receive_type("comment_held")
    assert (held["comment"]["id"], held["comment"]["heldReason"]) == (str(comment.id), "reported")
    stored = await Comment.objects.aget(id=comment.id)
    assert (stored.is_hidden, stored.review) == (True, "held")
    late = await clients(moderator)
    await late.send("join_stream", streamId=str(stream.id), moderate=True)
    state = await late.receive_type("moderation_state")
    assert [c["id"] for c in state["held"]] == [str(comment.id)]
    assert [(r["commentId"], r["count"]) for r in state["reports"]] == [(str(comment.id), 3)]


async def test_dismissing_reports_clears_the_count(clients, alice, bob, moderator, stream):
    comment = await sync_to_async(add_comment)(stream, alice, "fine, really")
    viewer = await clients(bob)
    await viewer.join(stream)
    await report(viewer, stream, comment.id)
    console, _ = await moderating(clients, moderator, stream)

    ack = await act(console, stream, "dismiss_reports", commentId=str(comment.id))

    assert ack["status"] == "accepted"
    assert not await Report.objects.filter(dismissed=False).aexists()
    # Dismissed, the same viewer may report it again.
    assert (await report(viewer, stream, comment.id))["status"] == "accepted"
    assert await Report.objects.filter(dismissed=False).acount() == 1


async def test_reports_need_a_signed_in_viewer_a_real_comment_and_not_ones_own(
    clients, alice, stream
):
    comment = await sync_to_async(add_comment)(stream, alice, "mine")
    anonymous = await clients()
    await anonymous.join(stream)
    author = await clients(alice)
    await author.join(stream)

    assert (await report(anonymous, stream, comment.id))["code"] == "UNAUTHORIZED"
    assert (await report(author, stream, comment.id))["code"] == "FORBIDDEN"
    assert (await report(author, stream, 424242))["code"] == "NOT_FOUND"
    assert not await Report.objects.aexists()


async def test_reports_are_rate_limited_per_user(clients, alice, bob, stream):
    comments = [await sync_to_async(add_comment)(stream, alice, f"c{n}") for n in range(11)]
    viewer = await clients(bob)
    await viewer.join(stream)

    answers = [await report(viewer, stream, comment.id) for comment in comments]

    assert [a["status"] for a in answers] == ["accepted"] * 10 + ["rate_limited"]
    assert answers[-1]["code"] == "RATE_LIMITED" and answers[-1]["retryAfter"] > 0
    assert await Report.objects.acount() == 10
