"""Reads that may lag go to the replica, the rest to the primary (livecomments.replica).

The replica here is a second, real PostgreSQL database (tests/settings.py) that the tests
fill by hand with what "replication" has brought so far: usually less than the primary
has, so every answer shows which database it came from.
"""

import copy
import subprocess
import sys
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from comments import state
from comments.models import Comment
from comments.selectors import backfill
from streams.models import Stream
from tests.comments.stored import store_comments
from tests.gateways import PROJECT_ROOT

pytestmark = [
    pytest.mark.skipif(
        "replica" not in settings.DATABASES, reason="the replica tests need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]


@pytest.fixture(autouse=True)
def reads_may_lag(settings):
    settings.LAGGING_READS = "replica"


def replicate(*rows):
    """Copy rows to the replica, as streaming replication would have by now."""
    by_model: dict = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(copy.copy(row))
    for model, copies in by_model.items():
        model.objects.using("replica").bulk_create(copies)


@pytest.fixture
def replicated(host, alice, stream):
    """The stream and its people are on the replica too."""
    replicate(host, alice, stream)


def forget_answered_keys():
    """Drop what Redis (or the local cache) remembers, so a retry is answered by the database."""
    if settings.REDIS_URL:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    else:
        cache.clear()
    state.reset_for_tests()


def ids_of(comments):
    return [int(c["id"]) for c in comments]


def test_the_rest_list_reads_the_replica(replicated, stream, alice):
    rows = store_comments(stream, alice, 3)
    replicate(*rows[:2])  # the newest has not reached the replica yet
    response = APIClient().get(f"/api/streams/{stream.id}/comments/")
    assert [int(c["id"]) for c in response.json()["comments"]] == [r.id for r in rows[:2]]


def test_the_stream_list_reads_the_replica(replicated, host):
    Stream.objects.create(title="Started a moment ago", host=host)
    titles = [s["title"] for s in APIClient().get("/api/streams/").json()["results"]]
    assert titles == ["Launch day"]


def test_a_resume_beyond_the_recent_cache_reads_the_replica(replicated, stream, alice):
    rows = store_comments(stream, alice, 1010)
    replicate(*rows[:1005])
    resumed = async_to_sync(backfill)(stream.id, rows[0].id)
    # More than the cache holds came after the last seen: the replica's newest 1,000.
    assert ids_of(resumed) == [r.id for r in rows[5:1005]]


def test_the_recent_cache_is_filled_from_the_primary(replicated, stream, alice):
    rows = store_comments(stream, alice, 60)
    replicate(*rows[:10])
    # The cache answers every later join: a lagging copy there would be wrong for all.
    assert ids_of(async_to_sync(backfill)(stream.id, None)) == [r.id for r in rows[10:]]


def test_a_post_and_its_retry_read_only_the_primary(stream, alice):
    # Nothing has reached the replica: not the stream, not the user, not the first post.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {alice.auth_token.key}")
    key = str(uuid.uuid4())
    url = f"/api/streams/{stream.id}/comments/"
    first = api.post(url, {"content": "hi"}, format="json", headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.content
    forget_answered_keys()
    again = api.post(url, {"content": "hi"}, format="json", headers={"Idempotency-Key": key})
    assert again.status_code == 201, again.content
    assert again.json()["commentId"] == first.json()["commentId"]
    assert Comment.objects.count() == 1
    assert not Comment.objects.using("replica").exists()


def test_the_admins_comment_list_reads_the_replica(replicated, admin_client, stream, alice):
    (on_both,) = store_comments(stream, alice, 1)
    replicate(on_both)
    Comment.objects.filter(id=on_both.id).update(content="edited on the primary")
    # (A superuser: the flush between these tests drops the Moderators group's permissions.)
    page = admin_client.get("/admin/comments/comment/").content.decode()
    assert "c0" in page
    assert "edited on the primary" not in page
    # The page of one comment, which a moderator acts from, reads the primary.
    page = admin_client.get(f"/admin/comments/comment/{on_both.id}/change/").content.decode()
    assert "edited on the primary" in page


def settings_with(**env) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.LAGGING_READS, sorted(settings.DATABASES))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "livecomments.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "postgres://u@db/live"}, "default ['default']"),
        (
            {
                "DATABASE_URL": "postgres://u@db/live",
                "DATABASE_REPLICA_URL": "postgres://u@replica/live",
            },
            "replica ['default', 'replica']",
        ),
    ],
)
def test_database_replica_url_names_the_database_of_lagging_reads(env, expected):
    done = settings_with(**env)
    assert done.stdout.strip() == expected, done.stderr


def test_it_rejects_a_replica_that_is_not_postgresql():
    done = settings_with(DATABASE_URL="postgres://u@db/live", DATABASE_REPLICA_URL="sqlite:///x")
    assert done.returncode != 0
    assert "DATABASE_REPLICA_URL needs PostgreSQL" in done.stderr
