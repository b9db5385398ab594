"""The server-rendered pages, through Django's test client."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from streams.models import Stream

pytestmark = pytest.mark.django_db


def test_the_stream_list_shows_live_streams_first(client, host):
    Stream.objects.create(title="Yesterday's show", host=host, status=Stream.Status.ENDED)
    Stream.objects.create(title="On air now", host=host)

    page = client.get("/").content.decode()

    assert page.index("On air now") < page.index("Yesterday&#x27;s show")
    assert "0 watching" in page


def test_the_stream_page_hands_the_client_its_stream_and_viewer(client, stream, alice):
    client.force_login(alice)

    response = client.get(f"/streams/{stream.id}/")

    assert response.context["live_config"] == {
        "streamId": str(stream.id),
        "socketPath": "/ws/live/",
        "user": {"id": str(alice.pk), "username": "alice", "moderates": False},
        "replay": None,
    }
    assert b'id="live-config"' in response.content
    assert b"livecomments/app.js" in response.content


def test_an_ended_streams_page_hands_the_client_its_replay(client, stream):
    stream.status = stream.Status.ENDED
    stream.ended_at = stream.created_at + timedelta(minutes=90)
    stream.save()

    response = client.get(f"/streams/{stream.id}/")

    assert response.context["live_config"]["replay"] == {
        "replayUrl": f"/api/streams/{stream.id}/replay/",
        "momentsUrl": f"/api/streams/{stream.id}/moments/",
        "durationMs": 90 * 60 * 1000,
    }
    assert b"data-replay" in response.content and b"livecomments/replay.css" in response.content


def test_the_page_tells_the_client_the_host_and_moderators_moderate(
    client, stream, host, moderator
):
    for user in (host, moderator):
        client.force_login(user)
        response = client.get(f"/streams/{stream.id}/")
        assert response.context["live_config"]["user"]["moderates"] is True


def test_only_the_host_and_moderators_get_a_link_to_the_moderation_console(
    client, stream, alice, host, moderator
):
    link = f'href="/moderate/{stream.id}/"'.encode()
    client.force_login(alice)
    assert link not in client.get(f"/streams/{stream.id}/").content
    for user in (host, moderator):
        client.force_login(user)
        assert link in client.get(f"/streams/{stream.id}/").content


def test_an_anonymous_viewer_is_asked_to_log_in(client, stream):
    response = client.get(f"/streams/{stream.id}/")

    assert response.context["live_config"]["user"] is None
    assert b'placeholder="Log in to comment"' in response.content
    assert f"/accounts/login/?next=/streams/{stream.id}/".encode() in response.content


def test_a_stream_without_video_shows_a_placeholder(client, stream):
    assert b"player-placeholder" in client.get(f"/streams/{stream.id}/").content


def test_an_unknown_stream_is_not_found(client):
    assert client.get("/streams/999999/").status_code == 404


def test_signing_up_logs_in_and_returns_to_the_stream(client, stream):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newcomer",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
            "next": f"/streams/{stream.id}/",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/streams/{stream.id}/"
    assert get_user_model().objects.filter(username="newcomer").exists()
    assert client.get("/").context["user"].username == "newcomer"


def test_signup_never_redirects_to_another_site(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newcomer",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
            "next": "https://evil.example/",
        },
    )

    assert response["Location"] == "/"


def test_logging_out_takes_a_post(client, alice):
    client.force_login(alice)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get("/").context["user"].is_anonymous
