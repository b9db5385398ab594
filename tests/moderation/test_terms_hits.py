"""Rule hit counters: the writer counts, per blocked term, the comments it held or refused,
in one statement a flush; the admin reads the last hour and all time."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comments.writer import Stored, store_posts
from livecomments.errors import ContentViolation
from moderation import services, term_hits
from moderation.models import BlockedTerm, BlockedTermHits
from moderation.selectors import TermHits
from moderation.selectors import term_hits as hits_of
from tests.posts import writer_post

pytestmark = pytest.mark.django_db

HOLD, REJECT = BlockedTerm.Action.HOLD, BlockedTerm.Action.REJECT
FORMS = BlockedTerm.Match.FORMS


def block(term, action):
    return services.block_term(term, action=action, match=FORMS, source="admin")


def test_a_flush_counts_every_term_that_acted_in_one_statement(alice, bob, stream):
    spoiler, scam, unused = block("spoiler", HOLD), block("scam", REJECT), block("nope", REJECT)
    posts = [
        writer_post(alice, stream.id, "spoilers!"),
        writer_post(bob, stream.id, "SP0ILER"),
        writer_post(alice, stream.id, "a scam"),
        writer_post(bob, stream.id, "hello"),
    ]

    with CaptureQueriesContext(connection) as queries:
        outcomes = store_posts(posts)

    assert [type(o) for o in outcomes] == [Stored, Stored, ContentViolation, Stored]
    assert [o.held_reason for o in outcomes if isinstance(o, Stored)] == [
        "blocked term “spoiler”",
        "blocked term “spoiler”",
        None,
    ]
    counted = [q for q in queries if BlockedTermHits._meta.db_table in q["sql"]]
    assert len(counted) == 1
    assert hits_of([spoiler.id, scam.id, unused.id]) == {
        spoiler.id: TermHits(held=2),
        scam.id: TermHits(refused=1),
    }


def test_a_flush_without_hits_writes_no_counter(alice, stream):
    block("spoiler", HOLD)

    with CaptureQueriesContext(connection) as queries:
        store_posts([writer_post(alice, stream.id, "all good")])

    assert not [q for q in queries if BlockedTermHits._meta.db_table in q["sql"]]


def test_counts_add_up_in_their_bucket_and_the_last_hour_leaves_older_ones_out(alice, stream):
    term = block("spoiler", REJECT)
    now = timezone.now()
    term_hits.count({}, {term.id: 2}, now - timedelta(hours=3))
    term_hits.count({term.id: 1}, {term.id: 1}, now)
    term_hits.count({term.id: 1}, {}, now)

    assert BlockedTermHits.objects.filter(term=term).count() == 2
    assert hits_of([term.id], since=now - timedelta(hours=1)) == {term.id: TermHits(2, 1)}
    assert hits_of([term.id]) == {term.id: TermHits(2, 3)}


def test_buckets_are_five_minutes():
    at = datetime(2026, 1, 1, 12, 34, 56, 789, tzinfo=UTC)
    assert term_hits.bucket_of(at) == datetime(2026, 1, 1, 12, 30, tzinfo=UTC)


def test_unblocking_a_term_drops_its_counts(alice, stream):
    term = block("spoiler", REJECT)
    term_hits.count({}, {term.id: 1}, timezone.now())

    services.unblock_term("spoiler", source="admin")

    assert not BlockedTermHits.objects.exists()
