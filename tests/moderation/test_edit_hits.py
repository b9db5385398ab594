"""Edits count in the rule hit counters as posts do (issue 13): an edit a blocked term holds
or refuses is a hit for that term, over a real socket; an edit nothing stops counts nothing,
and neither does one refused before any rule read it."""

import pytest
from asgiref.sync import sync_to_async

from moderation.models import BlockedTerm
from moderation.selectors import TermHits
from moderation.selectors import term_hits as hits_of
from tests.comments.test_edits import edit

pytestmark = pytest.mark.django_db(transaction=True)

FORMS = BlockedTerm.Match.FORMS


async def block(term, action):
    return await BlockedTerm.objects.acreate(term=term, action=action, match=FORMS)


async def test_held_and_refused_edits_count_for_the_term_that_stopped_them(
    clients, alice, bob, stream
):
    spoiler = await block("spoiler", BlockedTerm.Action.HOLD)
    scam = await block("scam", BlockedTerm.Action.REJECT)
    author, other = await clients(alice), await clients(bob)
    await author.join(stream)
    await other.join(stream)
    comment_id = (await author.post(stream, "first"))["commentId"]

    held = await edit(author, stream, comment_id, "SP0ILERS ahead")
    refused = await edit(author, stream, comment_id, "a scam")
    not_theirs = await edit(other, stream, comment_id, "a scam too")
    clean = await edit(author, stream, comment_id, "all good")

    assert (held["status"], refused["code"]) == ("held", "CONTENT_VIOLATION")
    assert (not_theirs["code"], clean["status"]) == ("FORBIDDEN", "accepted")
    counted = await sync_to_async(hits_of)([spoiler.id, scam.id])
    assert counted == {spoiler.id: TermHits(held=1), scam.id: TermHits(refused=1)}
