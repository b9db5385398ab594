"""The events outbox is the in-memory layer's way between processes, and only its: with
Redis every process hears the layer itself (tests/moderation/test_commands_reach_the_server.py
runs the outbox's way for real)."""

import pytest
from django.conf import settings

from livecomments.outbox.models import OutboxEvent
from moderation.services import ban_user
from streams.services import end_stream

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs the Redis layer (set REDIS_URL)"),
]


def test_with_redis_moderation_outside_a_gateway_leaves_the_outbox_empty(alice, stream):
    ban_user(alice, stream=stream, remove_comments=True, source="command")
    end_stream(stream.id, source="command")

    assert not OutboxEvent.objects.exists()
