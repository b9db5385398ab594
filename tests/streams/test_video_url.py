"""A stream's video: an absolute http(s) URL or a path on this site, nothing else."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from streams.models import VIDEO_URL_MESSAGE, Stream

ACCEPTED = [
    "/static/demo/demo-loop.webm",
    "/media/streams/7/live.m3u8?token=abc",
    "https://video.example.com/launch.mp4",
    "http://127.0.0.1:8080/live.webm",
]
REFUSED = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:video/webm;base64,AAAA",
    "ftp://example.com/video.webm",
    "static/demo/demo-loop.webm",
    "demo-loop.webm",
    "../demo-loop.webm",
    "//evil.example.com/video.webm",
    "/\\evil.example.com/video.webm",
    "/static/demo loop.webm",
    " /static/demo/demo-loop.webm\nx",
    "https://",
]


@pytest.mark.parametrize("url", ACCEPTED)
def test_a_stream_accepts_an_http_url_or_a_site_path(db, url):
    Stream(title="Launch day", video_url=url).full_clean()


@pytest.mark.parametrize("url", REFUSED)
def test_a_stream_refuses_other_video_addresses_with_a_clear_message(db, url):
    with pytest.raises(ValidationError) as refused:
        Stream(title="Launch day", video_url=url).full_clean()
    assert refused.value.message_dict == {"video_url": [VIDEO_URL_MESSAGE]}


def test_the_admin_saves_the_demos_site_relative_video_path(admin_client, stream):
    url = reverse("admin:streams_stream_change", args=[stream.id])

    response = admin_client.post(
        url,
        {"title": stream.title, "video_url": "/static/demo/demo-loop.webm", "slow_mode_seconds": 0},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    stream.refresh_from_db()
    assert stream.video_url == "/static/demo/demo-loop.webm"


def test_the_admin_refuses_a_javascript_url_and_says_what_it_takes(admin_client, stream):
    url = reverse("admin:streams_stream_change", args=[stream.id])

    response = admin_client.post(
        url, {"title": stream.title, "video_url": "javascript:alert(1)", "slow_mode_seconds": 0}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"video_url": [VIDEO_URL_MESSAGE]}
    assert VIDEO_URL_MESSAGE in response.content.decode()
    stream.refresh_from_db()
    assert stream.video_url == ""


def test_create_stream_refuses_a_video_address_that_is_not_one(db):
    with pytest.raises(CommandError, match="path on this site starting with /"):
        call_command("create_stream", "Launch day", "--video-url", "data:video/webm;base64,AAAA")
    assert not Stream.objects.exists()
