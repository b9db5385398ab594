"""A live stream whose video can seek back (DVR): behind live, the chat replays the moment
the video shows, with a "Back to live" button that returns to the live edge and the live
chat, which kept every comment that arrived meanwhile (issue 16)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from streams.management.commands.seed_demo import demo_video_url
from streams.models import Stream
from tests.browser import PLAYWRIGHT_MISSING
from tests.replay import comment_at

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

# How far back the test seeks: past the 10 s that count as live (BEHIND_LIVE_MS), within
# the demo clip's 30 s (the live page loops it; see LiveEdge in replay-store.js).
SEEK_BACK_S = 15


def post(page, text):
    page.get_by_label("Your comment", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()


def shown(page):
    return page.locator("[data-comment-list] .comment-content").all_text_contents()


def test_a_live_streams_page_with_a_video_hands_the_client_its_replay(client, stream):
    assert client.get(f"/streams/{stream.id}/").context["live_config"]["replay"] is None

    stream.video_url = demo_video_url()
    stream.save()
    before = int(timezone.now().timestamp() * 1000)
    response = client.get(f"/streams/{stream.id}/")

    live = response.context["live_config"]["replay"]["live"]
    assert live["startedAtMs"] == int(stream.created_at.timestamp() * 1000)
    assert live["serverNowMs"] >= before
    assert b"data-replay" in response.content and b"livecomments/replay.css" in response.content


def test_behind_live_the_chat_replays_and_back_to_live_returns(open_page, stream, alice, bob):
    # Live for two minutes, with the demo clip standing in for the live video.
    Stream.objects.filter(pk=stream.pk).update(
        video_url=demo_video_url(), created_at=timezone.now() - timedelta(minutes=2)
    )
    stream.refresh_from_db()
    viewer = open_page(stream, alice)
    poster = open_page(stream, bob)
    viewer.wait_for_function("document.querySelector('.player-video').readyState >= 1")
    back = viewer.get_by_role("button", name="Back to live")
    expect(back).to_be_hidden()
    comments = viewer.locator("[data-comment-list] .comment-content")
    post(poster, "said at live")
    expect(comments).to_have_text(["said at live"])

    # What was said 25 s and 20 s ago, and 5 s ago: stored as the replay API reads them.
    live_offset_ms = int((timezone.now() - stream.created_at).total_seconds() * 1000)
    comment_at(stream, bob, live_offset_ms - 25_000, "said 25 s ago")
    comment_at(stream, bob, live_offset_ms - 20_000, "said 20 s ago")
    comment_at(stream, bob, live_offset_ms - 5_000, "said 5 s ago")

    viewer.evaluate(
        f"""() => {{
        const video = document.querySelector('.player-video');
        const back = video.currentTime - {SEEK_BACK_S};
        video.currentTime = ((back % video.duration) + video.duration) % video.duration;
        }}"""
    )

    expect(back).to_be_visible()
    expect(comments).to_have_text(["said 25 s ago", "said 20 s ago"])
    expect(viewer.locator("[data-replay-status]")).to_contain_text("behind live")

    # Posted while the viewer is behind: taken by the live store (it shows after "Back to
    # live", with no new state sync), not drawn over the replay.
    post(poster, "posted while you were behind")
    posted = poster.locator(".comment-content", has_text="posted while you were behind")
    expect(posted).to_be_visible()
    assert "posted while you were behind" not in shown(viewer)

    back.focus()
    viewer.keyboard.press("Enter")

    # The live list as it would have been, had the viewer never left.
    expect(comments).to_have_text(["said at live", "posted while you were behind"])
    expect(back).to_be_hidden()
