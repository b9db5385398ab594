"""The demo as a newcomer meets it: its own error pages, its streams, its shipped video."""

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.views.defaults import server_error

from comments.models import Comment
from streams.management.commands.seed_demo import DEMO_VIDEO, STREAMS
from streams.models import Stream

pytestmark = pytest.mark.django_db

WEBM_MAGIC = b"\x1a\x45\xdf\xa3"


def seed_demo() -> None:
    call_command("seed_demo", stdout=StringIO())


@pytest.mark.parametrize("path", ["/streams/999999/", "/no/such/page/"])
def test_an_unknown_address_gets_the_sites_404_page_and_no_url_list(client, settings, path):
    settings.DEBUG = False  # as scripts/demo runs

    response = client.get(path)

    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here" in page
    assert 'href="/"' in page  # back to the live streams
    assert "livecomments/live.css" in page
    assert "URLconf" not in page
    assert "admin/" not in page


def test_a_server_error_gets_the_sites_500_page_without_a_request_context():
    response = server_error(RequestFactory().get("/streams/1/"))

    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"livecomments/live.css" in response.content


def test_seed_demo_gives_each_stream_its_own_chat():
    seed_demo()

    streams = list(Stream.objects.order_by("id"))
    assert [stream.title for stream in streams] == [demo.title for demo in STREAMS]
    chats = [
        list(Comment.objects.filter(stream=stream).values_list("content", flat=True))
        for stream in streams
    ]
    assert all(len(chat) >= 30 for chat in chats)
    assert all(len(set(chat)) == len(chat) for chat in chats)
    assert not set(chats[0]) & set(chats[1])


def test_seed_demo_streams_have_the_host_and_the_moderator_in_the_chat_and_a_pinned_welcome():
    seed_demo()

    for stream in Stream.objects.all():
        comments = Comment.objects.filter(stream=stream)
        roles = set(comments.values_list("author__username", "author_role"))
        assert ("hannah", Comment.AuthorRole.HOST) in roles
        assert ("mona", Comment.AuthorRole.MODERATOR) in roles
        assert len({name for name, role in roles if role == Comment.AuthorRole.VIEWER}) >= 3
        pinned = comments.get(is_pinned=True)
        assert pinned.author.username == "hannah"
        assert pinned.is_highlighted


def test_seed_demo_points_every_stream_at_the_video_shipped_in_static():
    seed_demo()

    urls = set(Stream.objects.values_list("video_url", flat=True))
    assert urls == {f"/static/{DEMO_VIDEO}"}
    found = finders.find(DEMO_VIDEO)
    assert found is not None
    video = Path(found)
    assert video.stat().st_size < 1_000_000
    assert video.read_bytes()[:4] == WEBM_MAGIC


def test_seeding_again_points_an_older_demo_at_the_shipped_video():
    seed_demo()
    Stream.objects.update(video_url="https://example.com/flower.mp4")

    seed_demo()

    assert Stream.objects.count() == len(STREAMS)
    assert set(Stream.objects.values_list("video_url", flat=True)) == {f"/static/{DEMO_VIDEO}"}


def test_seed_demo_writes_every_comment_in_one_insert():
    with CaptureQueriesContext(connection) as queries:
        seed_demo()

    sql = [query["sql"] for query in queries.captured_queries]
    assert sum(line.startswith('INSERT INTO "comments_comment"') for line in sql) == 1
    assert len(sql) <= 50  # users, streams and their audit rows: 40 today
