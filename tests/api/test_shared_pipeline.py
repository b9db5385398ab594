"""HTTP and WebSocket posts share one pipeline: idempotency keys, rate limits and broadcast.

The HTTP requests run on the test's event loop (Django's AsyncClient), so they use the
same gateway as the WebSocket clients, as they would inside one daphne process.
"""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import AsyncClient
from django.urls import reverse

from comments.models import Comment
from tests.gateways import gateways
from tests.moderation.conftest import call_api

pytestmark = pytest.mark.django_db(transaction=True)


async def http_post(user, stream, content, key=None):
    response = await AsyncClient().post(
        reverse("api:comments", args=[stream.id]),
        json.dumps({"content": content}),
        content_type="application/json",
        headers={
            "Authorization": f"Token {user.auth_token.key}",
            "Idempotency-Key": key or str(uuid.uuid4()),
        },
    )
    return response.status_code, response.json()


async def test_an_http_post_reaches_websocket_viewers(clients, alice, bob, stream):
    viewer = await clients(bob)
    await viewer.join(stream)

    status, body = await http_post(alice, stream, "posted over HTTP")

    assert status == 201
    [comment] = await viewer.live_comments(1)
    assert comment["id"] == body["commentId"] and comment["content"] == "posted over HTTP"


async def test_a_key_used_over_http_is_honoured_over_websocket(clients, alice, bob, stream):
    viewer = await clients(bob)
    await viewer.join(stream)
    poster = await clients(alice)
    await poster.join(stream)
    key = str(uuid.uuid4())

    status, body = await http_post(alice, stream, "only once", key)
    ack = await poster.post(stream, "only once", key=key)

    assert status == 201
    assert ack == {"idempotencyKey": key, "commentId": body["commentId"], "status": "accepted"}
    assert await Comment.objects.filter(stream=stream).acount() == 1
    assert len(await viewer.live_comments(1)) == 1
    await viewer.nothing_more()


async def test_a_key_used_over_websocket_is_honoured_over_http(clients, alice, stream):
    poster = await clients(alice)
    await poster.join(stream)
    key = str(uuid.uuid4())

    ack = await poster.post(stream, "first by socket", key=key)
    status, body = await http_post(alice, stream, "first by socket", key)

    assert status == 201 and body["commentId"] == ack["commentId"]
    assert await Comment.objects.filter(stream=stream).acount() == 1


async def test_rate_limits_count_http_and_websocket_posts_together(clients, alice, stream):
    poster = await clients(alice)
    await poster.join(stream)

    for n in range(3):
        assert (await http_post(alice, stream, f"http {n}"))[0] == 201
    for n in range(2):
        assert (await poster.post(stream, f"socket {n}"))["status"] == "accepted"

    # Five in 30 s on one stream is the limit, whichever way they came.
    over_socket = await poster.post(stream, "socket, one too many")
    status, over_http = await http_post(alice, stream, "http, one too many")

    assert over_socket["status"] == "rate_limited" and over_socket["retryAfter"] > 0
    assert status == 429 and over_http["code"] == "RATE_LIMITED"
    assert await Comment.objects.filter(stream=stream).acount() == 5


async def test_http_posts_arriving_together_on_a_server_are_all_stored(
    tmp_path, alice, bob, stream
):
    limits = {"LC_RATE_STREAM_COUNT": "1000", "LC_RATE_GLOBAL_COUNT": "1000"}
    path = f"/api/streams/{stream.id}/comments/"

    def post(n: int, user) -> int:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        return call_api(server, "POST", path, user, {"content": f"together {n}"}, key)[0]

    # Each request's view has a thread of its own, and the writer flushes them together: a
    # flush's hop to the database must not go to the thread of a request answered meanwhile
    # (that failed UNAVAILABLE, 503).
    with gateways(tmp_path, 1, extra_env=limits) as (server,), ThreadPoolExecutor(6) as posters:
        statuses = list(posters.map(post, range(60), [alice, bob] * 30))

    assert statuses == [201] * 60
    assert await Comment.objects.filter(stream=stream).acount() == 60
