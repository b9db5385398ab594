"""Blocked terms where the writer applies them (SPEC §3 "Post", "Held for review"): a `hold`
term holds, a `reject` term refuses, each counted against its term. Over WebSocket
connections, as in test_held_for_review."""

import pytest
from asgiref.sync import sync_to_async

from comments.models import Comment
from moderation import services
from moderation.models import BlockedTerm, ModerationAction
from moderation.selectors import TermHits, term_hits

from .test_moderating_sockets import moderating

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = ModerationAction.Source.ADMIN
HOLD, REJECT = BlockedTerm.Action.HOLD, BlockedTerm.Action.REJECT
WORD, FORMS = BlockedTerm.Match.WORD, BlockedTerm.Match.FORMS


async def block(term, action, match=FORMS):
    return await sync_to_async(services.block_term)(term, action=action, match=match, source=ADMIN)


async def hits(term):
    return (await sync_to_async(term_hits)([term.id])).get(term.id, TermHits())


async def test_a_hold_term_holds_the_comment_for_moderators_only_naming_the_term(
    clients, alice, bob, moderator, stream
):
    term = await block("spoiler", HOLD)
    console, _ = await moderating(clients, moderator, stream)
    viewer = await clients(bob)
    await viewer.join(stream)
    author = await clients(alice)
    await author.join(stream)

    ack = await author.post(stream, "SP0ILERS: he wins")

    assert ack["status"] == "held" and ack["commentId"] is not None
    held = await console.receive_type("comment_held")
    assert held["comment"]["id"] == ack["commentId"]
    assert held["comment"]["heldReason"] == "blocked term “spoiler”"
    await viewer.nothing_more(timeout=0.5)
    stored = await Comment.objects.aget(id=int(ack["commentId"]))
    assert (stored.is_hidden, stored.review) == (True, "held")
    assert await hits(term) == TermHits(held=1, refused=0)
    # A retry of the key is told the same and counts nothing more.
    assert await author.post(stream, "SP0ILERS: he wins", key=ack["idempotencyKey"]) == ack
    assert await hits(term) == TermHits(held=1, refused=0)


async def test_a_reject_term_refuses_with_content_violation_and_stores_nothing(
    clients, alice, stream
):
    term = await block("spoiler", REJECT)
    author = await clients(alice)
    await author.join(stream)

    refused = await author.post(stream, "big spóiler ahead")
    allowed = await author.post(stream, "no spoil here")

    assert (refused["status"], refused["code"]) == ("rejected", "CONTENT_VIOLATION")
    assert allowed["status"] == "accepted"
    assert [c async for c in Comment.objects.values_list("content", flat=True)] == ["no spoil here"]
    assert await hits(term) == TermHits(held=0, refused=1)


async def test_a_word_term_lets_other_forms_through(clients, alice, stream):
    await block("spoiler", REJECT, WORD)
    author = await clients(alice)
    await author.join(stream)

    assert (await author.post(stream, "SPÓILER"))["code"] == "CONTENT_VIOLATION"
    assert (await author.post(stream, "spoilers"))["status"] == "accepted"
    assert (await author.post(stream, "sp0iler"))["status"] == "accepted"


async def test_a_reject_term_wins_over_a_hold_term_in_the_same_comment(clients, alice, stream):
    hold = await block("spoiler", HOLD)
    reject = await block("scam", REJECT)
    author = await clients(alice)
    await author.join(stream)

    ack = await author.post(stream, "spoiler: this is a scam")

    assert ack["code"] == "CONTENT_VIOLATION"
    assert (await hits(hold), await hits(reject)) == (TermHits(), TermHits(refused=1))


async def test_the_host_and_moderators_are_not_held_by_terms_but_are_refused_by_them(
    clients, bob, host, moderator, stream
):
    hold = await block("spoiler", HOLD)
    await block("scam", REJECT)
    viewer = await clients(bob)
    await viewer.join(stream)
    hosting = await clients(host)
    await hosting.join(stream)
    moderating_user = await clients(moderator)
    await moderating_user.join(stream)

    by_host = await hosting.post(stream, "spoilers at the end")
    by_moderator = await moderating_user.post(stream, "no spoilers, please")

    assert (by_host["status"], by_moderator["status"]) == ("accepted", "accepted")
    live = await viewer.live_comments(2)
    assert {c["id"] for c in live} == {by_host["commentId"], by_moderator["commentId"]}
    assert await hits(hold) == TermHits()
    assert (await hosting.post(stream, "not a scam"))["code"] == "CONTENT_VIOLATION"
    assert (await moderating_user.post(stream, "sc4m"))["code"] == "CONTENT_VIOLATION"


async def test_changing_a_term_takes_effect_on_the_next_post(clients, alice, moderator, stream):
    term = await block("spoiler", REJECT, WORD)
    author = await clients(alice)
    await author.join(stream)
    assert (await author.post(stream, "spoilers"))["status"] == "accepted"

    await sync_to_async(services.change_term)(
        term.id, action=HOLD, match=FORMS, actor=moderator, source=ADMIN
    )

    assert (await author.post(stream, "spoilers"))["status"] == "held"
    assert await hits(term) == TermHits(held=1)
