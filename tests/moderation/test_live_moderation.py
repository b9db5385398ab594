"""Moderation services reach viewers live, over real WebSocket connections (one process).

The same actions across two gateway processes are in test_across_gateways.py.
"""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from comments.models import Comment
from moderation import services
from moderation.models import Ban, ModerationAction
from streams.models import Stream
from streams.services import set_slow_mode

from .conftest import add_comment

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = ModerationAction.Source.ADMIN


async def moderate(service, *args, **kwargs):
    return await sync_to_async(service)(*args, **kwargs)


async def test_pinning_tells_viewers_and_joins_see_the_pin(clients, alice, bob, moderator, stream):
    comment = await sync_to_async(add_comment)(stream, alice, "read the rules")
    viewer = await clients(bob)
    await viewer.join(stream)

    await moderate(services.pin_comment, comment.id, actor=moderator, source=ADMIN)

    updated = await viewer.receive_type("comment_updated")
    assert updated["streamId"] == str(stream.id)
    assert updated["comment"]["id"] == str(comment.id)
    assert updated["comment"]["isPinned"] is True
    late = await clients(alice)
    state, backfill = await late.join(stream)
    assert [c["id"] for c in state["pinnedComments"]] == [str(comment.id)]
    assert backfill["comments"][0]["isPinned"] is True


async def test_highlighting_updates_the_cached_backfill(clients, alice, bob, moderator, stream):
    comment = await sync_to_async(add_comment)(stream, alice, "great question")
    viewer = await clients(bob)
    await viewer.join(stream)  # loads the recent-comments cache

    await moderate(services.highlight_comment, comment.id, actor=moderator, source=ADMIN)

    assert (await viewer.receive_type("comment_updated"))["comment"]["isHighlighted"] is True
    _, backfill = await (await clients(alice)).join(stream)
    assert backfill["comments"][0]["isHighlighted"] is True


async def test_hiding_removes_the_comment_live_and_from_backfill(
    clients, alice, bob, moderator, stream
):
    kept = await sync_to_async(add_comment)(stream, alice, "nice")
    hidden = await sync_to_async(add_comment)(stream, alice, "rude")
    viewer = await clients(bob)
    _, before = await viewer.join(stream)
    assert [c["id"] for c in before["comments"]] == [str(kept.id), str(hidden.id)]

    await moderate(services.hide_comment, hidden.id, actor=moderator, source=ADMIN, reason="rude")

    removed = await viewer.receive_type("comments_removed")
    assert removed == {"streamId": str(stream.id), "commentIds": [str(hidden.id)]}
    _, after = await (await clients(alice)).join(stream)
    assert [c["id"] for c in after["comments"]] == [str(kept.id)]


async def test_unhiding_brings_the_comment_back_for_new_joins(clients, alice, moderator, stream):
    comment = await sync_to_async(add_comment)(stream, alice, "fine after all", is_hidden=True)
    viewer = await clients(alice)
    _, before = await viewer.join(stream)
    assert before["comments"] == []

    await moderate(services.unhide_comment, comment.id, actor=moderator, source=ADMIN)

    assert (await viewer.receive_type("comment_updated"))["comment"]["id"] == str(comment.id)
    _, after = await viewer.join(stream)
    assert [c["id"] for c in after["comments"]] == [str(comment.id)]


async def test_a_ban_tells_the_users_sockets_who_read_on_but_may_not_post(
    clients, alice, bob, moderator, stream
):
    banned = await clients(alice)
    await banned.join(stream)
    viewer = await clients(bob)
    await viewer.join(stream)

    await moderate(
        services.ban_user, alice, stream=stream, reason="spam", actor=moderator, source=ADMIN
    )

    changed = await banned.receive_type("restriction_changed")
    assert changed == {
        "streamId": str(stream.id),
        "restriction": {"code": "BANNED", "until": None, "reason": "spam"},
    }
    ack = await banned.post(stream, "let me back in")
    assert (ack["status"], ack["code"], ack["commentId"]) == ("rejected", "BANNED", None)
    assert "retryAfter" not in ack
    # Still joined: they read the chat like anyone else.
    posted = await viewer.post(stream, "still here")
    [comment] = await banned.live_comments(1)
    assert comment["id"] == posted["commentId"]


async def test_a_ban_with_removal_hides_their_comments_from_viewers(
    clients, alice, bob, moderator, stream
):
    spam = [await sync_to_async(add_comment)(stream, alice, f"spam {n}") for n in range(3)]
    other = await sync_to_async(add_comment)(stream, bob, "hello")
    viewer = await clients(bob)
    await viewer.join(stream)

    await moderate(
        services.ban_user,
        alice,
        stream=stream,
        remove_comments=True,
        reason="spam",
        actor=moderator,
        source=ADMIN,
    )

    removed = await viewer.receive_type("comments_removed")
    assert sorted(removed["commentIds"]) == sorted(str(c.id) for c in spam)
    _, backfill = await (await clients(bob)).join(stream)
    assert [c["id"] for c in backfill["comments"]] == [str(other.id)]


async def test_a_site_wide_ban_reaches_the_user_on_any_stream(
    clients, alice, moderator, stream, host
):
    other = await Stream.objects.acreate(title="Another", host=host)
    banned = await clients(alice)
    await banned.join(other)

    await moderate(services.ban_user, alice, actor=moderator, source=ADMIN)

    changed = await banned.receive_type("restriction_changed")
    assert (changed["streamId"], changed["restriction"]["until"]) == (str(other.id), None)
    state, backfill = await banned.join(stream)
    assert state["restriction"] == {"code": "BANNED", "until": None, "reason": None}
    assert backfill["isBackfill"] is True


async def test_a_timeout_says_how_long_and_ends_by_itself(clients, alice, moderator, stream):
    client = await clients(alice)
    await client.join(stream)
    ends = timezone.now() + timedelta(seconds=2)

    await moderate(
        services.ban_user,
        alice,
        stream=stream,
        expires_at=ends,
        reason="cool off",
        actor=moderator,
        source=ADMIN,
    )

    changed = await client.receive_type("restriction_changed")
    assert changed["restriction"] == {
        "code": "BANNED",
        "until": int(ends.timestamp() * 1000),
        "reason": "cool off",
    }
    ack = await client.post(stream, "too soon")
    assert (ack["status"], ack["code"]) == ("rejected", "BANNED")
    assert 1 <= ack["retryAfter"] <= 2
    # Nobody lifts it: at its end the socket is told, and posting works again.
    lifted = await client.receive_type("restriction_changed", timeout=4)
    assert lifted == {"streamId": str(stream.id), "restriction": None}
    assert (await client.post(stream, "I'm back"))["status"] == "accepted"


async def test_a_banned_users_reactions_are_dropped(clients, alice, bob, moderator, stream):
    await moderate(services.ban_user, alice, stream=stream, actor=moderator, source=ADMIN)
    banned = await clients(alice)
    await banned.join(stream)
    viewer = await clients(bob)
    await viewer.join(stream)

    await banned.send("react", streamId=str(stream.id), reactionType="love")
    await viewer.send("react", streamId=str(stream.id), reactionType="like")

    counted = await viewer.receive_type("reactions_batch")
    assert counted["counts"] == {"like": 1}


async def test_unbanning_lets_the_user_post_again(clients, alice, moderator, stream):
    await moderate(services.ban_user, alice, stream=stream, actor=moderator, source=ADMIN)
    client = await clients(alice)
    state, _ = await client.join(stream)
    assert state["restriction"]["code"] == "BANNED"

    lifted = await moderate(
        services.unban_user, alice, stream=stream, actor=moderator, source=ADMIN
    )

    assert lifted == 1
    changed = await client.receive_type("restriction_changed")
    assert changed["restriction"] is None
    assert (await client.post(stream, "thanks"))["status"] == "accepted"


async def test_slow_mode_answers_with_the_exact_retry_after(clients, alice, moderator, stream):
    notice = await sync_to_async(add_comment)(stream, moderator, "Slow mode is on")
    client = await clients(alice)
    await client.join(stream)

    await moderate(set_slow_mode, stream.id, 20, actor=moderator, source=ADMIN)
    # The gateway learns of slow mode from a message on the stream's group; the pin is
    # published after it on the same group, so once the pin arrives slow mode is known.
    await moderate(services.pin_comment, notice.id, actor=moderator, source=ADMIN)
    await client.receive_type("comment_updated")

    assert (await client.post(stream, "first"))["status"] == "accepted"
    second = await client.post(stream, "second")
    assert second["status"] == "rate_limited"
    assert second["code"] == "RATE_LIMITED"
    assert second["retryAfter"] == 20


async def test_a_blocked_term_refuses_new_comments(clients, alice, moderator, stream):
    await moderate(services.block_term, "Spoiler", actor=moderator, source=ADMIN)
    client = await clients(alice)
    await client.join(stream)

    ack = await client.post(stream, "big SPOILER ahead")

    assert ack["code"] == "CONTENT_VIOLATION"
    await moderate(services.unblock_term, "spoiler", actor=moderator, source=ADMIN)
    assert (await client.post(stream, "no spoiler now")).get("status") == "accepted"


@pytest.mark.django_db
def test_every_action_is_logged_with_who_what_and_why(alice, moderator, stream):
    comment = add_comment(stream, alice)

    services.pin_comment(comment.id, actor=moderator, source=ADMIN, reason="helpful")
    services.hide_comment(comment.id, actor=moderator, source=ModerationAction.Source.API)
    services.ban_user(alice, stream=stream, reason="spam", source=ModerationAction.Source.COMMAND)

    log = list(ModerationAction.objects.order_by("id"))
    assert [(a.kind, a.source) for a in log] == [
        ("pin", "admin"),
        ("hide", "api"),
        ("ban", "command"),
    ]
    assert log[0].actor == moderator and log[0].reason == "helpful"
    assert log[0].comment_id == comment.id and log[0].target_user == alice
    assert log[0].stream == stream
    assert log[2].actor is None and log[2].target_user == alice and log[2].reason == "spam"


@pytest.mark.django_db
def test_doing_what_is_already_done_changes_and_logs_nothing(alice, moderator, stream):
    comment = add_comment(stream, alice, is_pinned=True)

    services.pin_comment(comment.id, actor=moderator, source=ADMIN)

    assert not ModerationAction.objects.exists()
    assert Comment.objects.get(id=comment.id).is_pinned
    assert services.unban_user(alice, stream=stream, source=ADMIN) == 0
    assert not ModerationAction.objects.exists()


@pytest.mark.django_db
def test_banning_again_replaces_the_earlier_ban(alice, moderator, stream):
    services.ban_user(alice, stream=stream, source=ADMIN)
    later = timezone.now() + timedelta(minutes=10)

    services.ban_user(alice, stream=stream, expires_at=later, source=ADMIN)

    [ban] = Ban.objects.filter(user=alice)
    assert ban.expires_at == later
