"""Moderation is live on every gateway: two real daphne processes, real WebSocket clients.

Each action is taken where a moderator or operator would take it — the admin, the REST
API of one gateway, manage.py — and must reach viewers on both gateways within a second.
"""

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment
from moderation.models import Ban
from streams.models import Stream
from tests.clients import LiveClient

from .conftest import add_comment, call_api

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL or "sqlite" in settings.DATABASES["default"]["ENGINE"],
        reason="several gateways need PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)",
    ),
]

LIVE_BOUND = 1.0  # seconds: SPEC §3, "reach every viewer within a second"


async def viewers_on_both(gateways, stream, *users):
    """A joined socket on each gateway (anonymous unless users are given)."""
    sockets = []
    for gateway, user in zip(gateways, users or (None, None), strict=True):
        ws = await LiveClient(user, port=gateway.port).connect()
        await ws.join(stream)
        sockets.append(ws)
    return sockets


async def each_receives(sockets, kind):
    """Every socket gets a frame of `kind` within the live bound; return their payloads."""
    return await asyncio.gather(*(ws.receive_type(kind, timeout=LIVE_BOUND) for ws in sockets))


async def api(gateway, method, path, user=None, body=None, headers=None):
    return await asyncio.to_thread(call_api, gateway, method, path, user, body, headers)


def admin_action(moderator, url, action, ids, **extra):
    client = Client()
    client.force_login(moderator)
    response = client.post(url, {"action": action, "_selected_action": ids, **extra})
    assert response.status_code == 302, response.content[:500]


async def close_all(*sockets):
    for ws in sockets:
        await ws.close()


async def test_a_pin_in_the_admin_reaches_viewers_on_every_gateway(
    two_gateways, alice, moderator, stream
):
    comment = await sync_to_async(add_comment)(stream, alice, "Welcome, be kind")
    sockets = await viewers_on_both(two_gateways, stream)
    try:
        await sync_to_async(admin_action)(
            moderator, reverse("admin:comments_comment_changelist"), "pin", [comment.id]
        )

        for update in await each_receives(sockets, "comment_updated"):
            assert update["comment"]["id"] == str(comment.id)
            assert update["comment"]["isPinned"] is True
        late = await LiveClient(port=two_gateways[1].port).connect()
        assert [c["id"] for c in (await late.join(stream))[0]["pinnedComments"]] == [
            str(comment.id)
        ]
        await late.close()
    finally:
        await close_all(*sockets)


async def test_highlight_and_hide_over_the_api_reach_the_other_gateway(
    two_gateways, alice, moderator, stream
):
    comment = await sync_to_async(add_comment)(stream, alice, "a question?")
    first, second = two_gateways
    sockets = await viewers_on_both(two_gateways, stream)
    try:
        status, _ = await api(first, "POST", f"/api/comments/{comment.id}/highlight/", moderator)
        assert status == 200
        for update in await each_receives(sockets, "comment_updated"):
            assert update["comment"]["isHighlighted"] is True

        status, _ = await api(first, "POST", f"/api/comments/{comment.id}/hide/", moderator)
        assert status == 200
        for removed in await each_receives(sockets, "comments_removed"):
            assert removed["commentIds"] == [str(comment.id)]
        # Backfill on the other gateway leaves it out too.
        late = await LiveClient(port=second.port).connect()
        await late.send("join_stream", streamId=str(stream.id))
        backfill = await late.receive_type("comments_batch")
        assert backfill["comments"] == []
        await late.close()
    finally:
        await close_all(*sockets)


async def test_a_ban_by_command_tells_the_user_and_removes_their_comments(
    two_gateways, alice, bob, stream
):
    spam = await sync_to_async(add_comment)(stream, alice, "buy followers")
    first, second = two_gateways
    viewer = await LiveClient(bob, port=first.port).connect()
    await viewer.join(stream)
    banned = await LiveClient(alice, port=second.port).connect()
    await banned.join(stream)
    try:
        await sync_to_async(call_command)(
            "ban", "alice", "--stream", str(stream.id), "--remove-comments", "--reason", "spam"
        )

        changed, removed = await asyncio.gather(
            banned.receive_type("restriction_changed", timeout=LIVE_BOUND),
            viewer.receive_type("comments_removed", timeout=LIVE_BOUND),
        )
        assert changed["restriction"] == {"code": "BANNED", "until": None, "reason": "spam"}
        assert removed["commentIds"] == [str(spam.id)]
        # The next post is refused, by socket and by HTTP.
        ack = await banned.post(stream, "hello?")
        assert (ack["status"], ack["code"]) == ("rejected", "BANNED")
        status, body = await api(
            first,
            "POST",
            f"/api/streams/{stream.id}/comments/",
            alice,
            {"content": "hello?"},
            {"Idempotency-Key": str(uuid.uuid4())},
        )
        assert (status, body["code"]) == (403, "BANNED")
    finally:
        await close_all(viewer, banned)


async def test_a_timeout_over_the_api_applies_at_once_and_ends_by_itself(
    two_gateways, alice, moderator, stream
):
    first, second = two_gateways
    user = await LiveClient(alice, port=second.port).connect()
    await user.join(stream)
    try:
        status, _ = await api(
            first,
            "POST",
            "/api/bans/",
            moderator,
            {"username": "alice", "streamId": stream.id, "minutes": 5},
        )
        assert status == 201
        changed = await user.receive_type("restriction_changed", timeout=LIVE_BOUND)
        assert 0 < changed["restriction"]["until"] / 1000 - time.time() <= 5 * 60
        ack = await user.post(stream, "too soon")
        assert (ack["code"], 0 < ack["retryAfter"] <= 5 * 60) == ("BANNED", True)

        # Five minutes later, nobody has lifted it: it no longer applies.
        await Ban.objects.filter(user=alice).aupdate(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        assert (await user.post(stream, "back again"))["status"] == "accepted"
    finally:
        await user.close()


async def test_slow_mode_over_the_api_applies_on_the_other_gateway(
    two_gateways, alice, moderator, stream
):
    notice = await sync_to_async(add_comment)(stream, moderator, "Slow mode is on")
    first, second = two_gateways
    user = await LiveClient(alice, port=second.port).connect()
    await user.join(stream)
    try:
        status, _ = await api(
            first, "POST", f"/api/streams/{stream.id}/slow-mode/", moderator, {"seconds": 45}
        )
        assert status == 200
        # Pinning the notice comes after the change on the same stream's channel, so once
        # the pin has arrived the other gateway knows about slow mode too.
        await api(first, "POST", f"/api/comments/{notice.id}/pin/", moderator)
        await user.receive_type("comment_updated", timeout=LIVE_BOUND)

        assert (await user.post(stream, "first"))["status"] == "accepted"
        second_ack = await user.post(stream, "second")
        assert second_ack["status"] == "rate_limited"
        assert second_ack["retryAfter"] == 45
    finally:
        await user.close()


async def test_ending_a_stream_in_the_admin_reaches_every_gateway(
    two_gateways, alice, moderator, stream
):
    sockets = await viewers_on_both(two_gateways, stream, alice, None)
    try:
        await sync_to_async(admin_action)(
            moderator, reverse("admin:streams_stream_changelist"), "end_streams", [stream.id]
        )

        for ended in await each_receives(sockets, "stream_ended"):
            assert ended == {"streamId": str(stream.id)}
        ack = await sockets[0].post(stream, "too late")
        assert ack["code"] == "STREAM_ENDED"
        assert (await Stream.objects.aget(id=stream.id)).status == "ended"
    finally:
        await close_all(*sockets)


async def test_an_http_post_to_one_gateway_reaches_a_viewer_on_the_other(
    two_gateways, alice, bob, stream
):
    first, second = two_gateways
    viewer = await LiveClient(bob, port=second.port).connect()
    await viewer.join(stream)
    try:
        status, body = await api(
            first,
            "POST",
            f"/api/streams/{stream.id}/comments/",
            alice,
            {"content": "over HTTP"},
            {"Idempotency-Key": str(uuid.uuid4())},
        )
        assert status == 201

        batch = await viewer.receive_type("comments_batch", timeout=LIVE_BOUND)
        assert [c["id"] for c in batch["comments"]] == [body["commentId"]]
        assert await Comment.objects.filter(stream=stream).acount() == 1
    finally:
        await viewer.close()


async def test_the_gateways_report_healthy_and_ready(two_gateways):
    for gateway in two_gateways:
        assert (await api(gateway, "GET", "/healthz"))[0] == 200
        status, body = await api(gateway, "GET", "/readyz")
        assert (status, body["checks"]) == (200, {"database": "ok", "redis": "ok"})
