"""Hostile frames through the real consumer: every frame is answered as the protocol says.

Hypothesis makes frames of every client message type with fields missing, of the wrong
type or with random values (and some that are valid, so that joins and posts go deep),
and sends them down one socket. After each frame a marker frame follows; since a socket's
frames are handled in order, what arrives before the marker's error is the frame's reply.
"""

import asyncio
import json
import uuid
from typing import get_args

import pytest

from comments.protocol import (
    CLIENT_MESSAGES,
    REACTION_TYPES,
    REPORT_REASONS,
    SERVER_MESSAGES,
    ModerationActionName,
    parse_client_frame,
)
from livecomments.errors import InvalidMessage

pytest.importorskip("hypothesis", reason="property tests need Hypothesis: pip install -e '.[dev]'")
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 50
# Frames any joined socket may get at any moment, whatever it sent.
BROADCASTS = {"viewer_count", "reactions_batch", "comment_updated", "comments_removed"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)
# Ids are up to 19 digits: past PostgreSQL's bigint too.
digits = st.integers(min_value=0, max_value=10**19 - 1).map(str) | st.sampled_from(
    ["0", str(2**63 - 1), str(2**63), "9" * 19]
)


def mostly(usual, rare):
    """`usual` three times in four, else `rare` (one_of alone would pick each half the time)."""
    return st.sampled_from([usual, usual, usual, rare]).flatmap(lambda strategy: strategy)


def field_values(stream_id: int, user_id: int) -> dict:
    """For each payload field: mostly values that pass the parser (so that joins and posts
    go deep), sometimes anything at all."""
    valid = {
        "streamId": mostly(st.just(str(stream_id)), digits),
        "userId": mostly(st.just(str(user_id)), digits),
        "lastSeenCommentId": st.just("0") | digits,
        "content": mostly(st.text(st.characters(codec="utf-8"), min_size=1), st.text(max_size=600)),
        "idempotencyKey": mostly(st.uuids().map(str), st.text(max_size=40)),
        "parentId": digits,
        "reactionType": st.sampled_from(REACTION_TYPES),
        "commentId": digits,
        "samples": st.lists(st.integers(-10, 4_000_000), max_size=5),
        "moderate": st.booleans(),
        "action": st.sampled_from(get_args(ModerationActionName)),
        "durationSeconds": st.integers(-5, 10**7),
        "reason": st.sampled_from(REPORT_REASONS) | st.text(max_size=600),
        "settings": st.fixed_dictionaries(
            {}, optional={"slowModeSeconds": st.integers(-5, 5000), "locked": st.booleans()}
        ),
    }
    return {name: mostly(value, json_values) for name, value in valid.items()}


def frames(stream_id: int, user_id: int):
    values = field_values(stream_id, user_id)

    def of_kind(kind):
        model = CLIENT_MESSAGES.get(kind)
        fields = model.model_fields if model else {}
        required = {name: values[name] for name, f in fields.items() if f.is_required()}
        optional = {name: values[name] for name, f in fields.items() if not f.is_required()}
        shaped = st.fixed_dictionaries(required, optional=optional)
        anything = st.dictionaries(st.text(max_size=10), json_values, max_size=3) | json_values
        payload = mostly(shaped, anything)
        return st.fixed_dictionaries({"type": st.just(kind), "payload": payload})

    # Posts are where most of the rules are: twice as likely as the other types.
    kinds = [*CLIENT_MESSAGES, "post_comment", "dance"]
    return st.one_of(*(of_kind(kind) for kind in kinds), json_values)


def check_reply(sent: dict | object, replies: list[dict]) -> None:
    """The replies to one frame are what the protocol says for it."""
    for reply in replies:
        assert reply["type"] in SERVER_MESSAGES, reply
        SERVER_MESSAGES[reply["type"]].model_validate(reply["payload"])
        # UNAVAILABLE from a working service means the consumer hit an unexpected error.
        assert reply["payload"].get("code") != "UNAVAILABLE", (sent, reply)
    kinds = [reply["type"] for reply in replies]
    try:
        kind, payload = parse_client_frame(json.dumps(sent))
    except InvalidMessage:
        assert kinds == ["error"] and replies[0]["payload"]["code"] == "INVALID_MESSAGE", replies
        return
    codes = [reply["payload"].get("code") for reply in replies]
    if kind == "join_stream":
        if kinds == ["error"]:
            # FORBIDDEN: a moderating join by a viewer.
            assert codes[0] in {"UNAUTHORIZED", "STREAM_NOT_FOUND", "FORBIDDEN"}, (sent, replies)
        else:
            assert kinds == ["stream_state", "comments_batch"], (sent, replies)
            assert replies[1]["payload"]["isBackfill"] is True
            assert replies[0]["payload"]["streamId"] == payload.streamId
    elif kind in ("post_comment", "moderate", "report", "delete_comment", "edit_comment"):
        assert kinds == ["ack"], (sent, replies)
        assert replies[0]["payload"]["idempotencyKey"] == payload.idempotencyKey
    elif kind == "react":
        assert kinds in ([], ["error"]), (sent, replies)
        assert codes in ([], ["NOT_JOINED"]), (sent, replies)
    else:  # leave_stream, report_latency: never answered
        assert kinds == [], (sent, replies)


async def reply_to(client, text: str, marker: str) -> list[dict]:
    """Send `text` then a marker frame; return what arrived before the marker's error."""
    await client.send_text(text)
    await client.send(marker)
    replies = []
    while True:
        message = await client.receive(timeout=10)
        if message["type"] == "error" and marker in message["payload"]["message"]:
            return replies
        if message["type"] in BROADCASTS or (
            message["type"] == "comments_batch" and not message["payload"]["isBackfill"]
        ):
            SERVER_MESSAGES[message["type"]].model_validate(message["payload"])
            continue
        replies.append(message)


async def test_any_frames_get_the_replies_the_protocol_says_and_the_socket_lives_on(
    clients, alice, stream, settings
):
    settings.LIVE_COMMENTS = {
        **settings.LIVE_COMMENTS,
        "RATE_LIMIT_GLOBAL": (100_000, 60),
        "RATE_LIMIT_STREAM": (100_000, 30),
    }
    client = await clients(alice)
    loop = asyncio.get_running_loop()
    sent_frames = 0
    join = {"type": "join_stream", "payload": {"streamId": str(stream.id)}}

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.booleans(), st.lists(frames(stream.id, alice.id), min_size=1, max_size=4))
    def fuzz(join_first, batch):
        nonlocal sent_frames
        for sent in [join, *batch] if join_first else batch:
            marker = f"marker-{uuid.uuid4().hex[:8]}"
            text = json.dumps(sent)
            replies = asyncio.run_coroutine_threadsafe(reply_to(client, text, marker), loop)
            check_reply(sent, replies.result(30))
            sent_frames += 1

    # Hypothesis drives from a thread; each frame goes down the socket on the test's loop.
    await asyncio.to_thread(fuzz)

    assert sent_frames >= MAX_EXAMPLES
    await client.join(stream)
    assert (await client.post(stream, "still here"))["status"] == "accepted"
