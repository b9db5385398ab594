"""Bad input never hurts the socket or anyone else: INVALID_MESSAGE, and on it goes."""

import asyncio
import json
import threading

import pytest
from channels.db import database_sync_to_async

pytestmark = pytest.mark.django_db(transaction=True)

BAD_FRAMES = [
    "not json",
    "[1, 2, 3]",
    '"just a string"',
    "{}",
    '{"type": "dance", "payload": {}}',
    '{"type": 42, "payload": {}}',
    '{"type": "join_stream", "payload": []}',
    '{"type": "join_stream", "payload": {}}',
    '{"type": "join_stream", "payload": {"streamId": 12}}',
    '{"type": "join_stream", "payload": {"streamId": "12; drop table"}}',
    '{"type": "post_comment", "payload": {"streamId": "1", "content": "hi"}}',
    '{"type": "post_comment", "payload": {"streamId": "1", "content": 5, "idempotencyKey": "x"}}',
    '{"type": "post_comment", "payload": {"streamId": "1", "content": "hi", '
    '"idempotencyKey": "not-a-uuid"}}',
    '{"type": "react", "payload": {"streamId": "1", "reactionType": "meh"}}',
    '{"type": "report_latency", "payload": {"samples": [-5]}}',
    json.dumps(
        {
            "type": "post_comment",
            "payload": {
                "streamId": "1",
                "content": "x" * 20_000,
                "idempotencyKey": "6f1c1f43-3d8e-4d53-9a32-2f0d2e2f8a11",
            },
        }
    ),
]


@pytest.mark.parametrize("text", BAD_FRAMES)
async def test_bad_frames_get_invalid_message_and_the_socket_keeps_working(
    clients, alice, bob, stream, text
):
    sender = await clients(alice)
    bystander = await clients(bob)
    await bystander.join(stream)

    await sender.send_text(text)
    error = await sender.receive_type("error")

    assert error["code"] == "INVALID_MESSAGE"
    assert error["retryable"] is False
    await sender.join(stream)
    assert (await sender.post(stream, "still here"))["status"] == "accepted"
    [comment] = await bystander.live_comments(1)
    assert comment["content"] == "still here"


async def test_binary_frames_are_invalid(clients, alice):
    client = await clients(alice)
    await client.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await client.receive_type("error"))["code"] == "INVALID_MESSAGE"


async def test_oversized_frames_are_invalid(clients, alice):
    client = await clients(alice)
    await client.send_text("x" * (64 * 1024 + 1))
    assert (await client.receive_type("error"))["code"] == "INVALID_MESSAGE"


async def test_comments_are_sent_as_text_not_markup(clients, alice, bob, stream):
    poster = await clients(alice)
    viewer = await clients(bob)
    await poster.join(stream)
    await viewer.join(stream)
    await poster.post(stream, "<img src=x onerror=alert(1)>")
    [comment] = await viewer.live_comments(1)
    assert comment["content"] == "<img src=x onerror=alert(1)>"


async def test_a_frame_that_needs_no_database_does_not_wait_for_it(clients, alice):
    """Nothing queues a socket's frames behind the database thread (the writer's flushes)."""
    client = await clients(alice)
    release = threading.Event()
    # Hold the one database thread, as a long flush would.
    holding = asyncio.ensure_future(database_sync_to_async(release.wait)())
    try:
        await client.send_text("not json")
        assert (await client.receive_type("error"))["code"] == "INVALID_MESSAGE"
    finally:
        release.set()
        await holding
