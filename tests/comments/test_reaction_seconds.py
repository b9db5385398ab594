"""Reactions kept per second for the replay: written in the background, summed over gateways."""

import asyncio
import time
from collections import Counter

import pytest
from django.urls import reverse

from comments.models import ReactionSecond
from comments.reactions import add_to_seconds

pytestmark = pytest.mark.django_db(transaction=True)


async def test_reactions_are_kept_per_second(clients, alice, bob, stream):
    reactor = await clients(alice)
    await reactor.join(stream)
    other = await clients(bob)
    await other.join(stream)
    sent_at = int(time.time())
    for reaction in ("like", "like", "wow"):
        await reactor.send("react", streamId=str(stream.id), reactionType=reaction)
    await other.send("react", streamId=str(stream.id), reactionType="like")

    rows: list[ReactionSecond] = []
    for _ in range(50):
        rows = [r async for r in ReactionSecond.objects.filter(stream=stream)]
        if sum(r.count for r in rows) == 4:
            break
        await asyncio.sleep(0.1)

    by_type: Counter[str] = Counter()
    for row in rows:
        by_type[row.reaction_type] += row.count
        # Stamped when its interval was flushed: within a couple of seconds of the send.
        assert sent_at <= row.second <= sent_at + 2
    assert by_type == {"like": 3, "wow": 1}


def test_counts_from_several_gateways_add_up_in_one_row(stream):
    add_to_seconds(Counter({(stream.id, 1_800_000_000, "love"): 2}))
    add_to_seconds(
        Counter({(stream.id, 1_800_000_000, "love"): 5, (stream.id, 1_800_000_001, "haha"): 1})
    )

    rows = ReactionSecond.objects.filter(stream=stream).order_by("second")
    assert list(rows.values_list("second", "reaction_type", "count")) == [
        (1_800_000_000, "love", 7),
        (1_800_000_001, "haha", 1),
    ]


def test_stored_reactions_change_an_ended_streams_replay_tag(stream):
    from rest_framework.test import APIClient

    stream.status = "ended"
    stream.save()
    url = reverse("api:moments", args=[stream.id])
    before = APIClient().get(url)["ETag"]

    add_to_seconds(Counter({(stream.id, int(stream.created_at.timestamp()) + 1, "like"): 1}))

    after = APIClient().get(url, headers={"If-None-Match": before})
    assert after.status_code == 200
    assert sum(b["reactions"] for b in after.json()["buckets"]) == 1
