"""An ended stream's page replays its chat in step with a real <video> (the demo clip), or
with a clock of its own when there is no video; a heat strip of moments seeks."""

import os
import time
from pathlib import Path

import pytest

from comments.models import Comment
from streams.management.commands.seed_demo import demo_video_url
from tests.browser import PLAYWRIGHT_MISSING
from tests.replay import comment_at, end

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

# A comment shows when the playhead reaches its offset, and no later than this after.
LATE_MS = 300
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def recording(stream):
    """The stream with the demo clip (30 s) as its recording, ended after 30 s."""
    stream.video_url = demo_video_url()
    stream.save()
    return stream


def open_replay(open_page, stream, user=None):
    page = open_page(end(stream, after_ms=30_000), user, ready="Stream ended")
    expect(page.locator("[data-heat-strip] .heat-bar").first).to_be_attached()
    page.wait_for_function("document.querySelector('.player-video').readyState >= 1")
    return page


def shown(page):
    return page.locator("[data-comment-list] .comment-content").all_text_contents()


def video_at(page, seconds):
    page.evaluate(f"document.querySelector('.player-video').currentTime = {seconds}")


def test_playing_shows_each_comment_at_its_offset(open_page, recording, alice, bob, host):
    comment_at(recording, alice, 1_000, "one second in")
    comment_at(recording, host, 2_500, "welcome all", author_role=Comment.AuthorRole.HOST)
    comment_at(recording, bob, 4_000, "four seconds in")
    page = open_replay(open_page, recording)
    # Note the video's time as each comment is drawn.
    page.evaluate(
        """() => {
        window.drawnAt = {};
        const video = document.querySelector('.player-video');
        new MutationObserver((changes) => {
          for (const change of changes) for (const node of change.addedNodes) {
            const text = node.querySelector?.('.comment-content')?.textContent;
            if (text && !(text in window.drawnAt)) window.drawnAt[text] = video.currentTime * 1000;
          }
        }).observe(document.querySelector('[data-comment-list]'), {childList: true});
        }"""
    )
    assert shown(page) == []

    page.evaluate("document.querySelector('.player-video').play()")

    expect(page.get_by_text("four seconds in")).to_be_visible()
    drawn = page.evaluate("window.drawnAt")
    offsets = {"one second in": 1_000, "welcome all": 2_500, "four seconds in": 4_000}
    for text, offset in offsets.items():
        assert offset <= drawn[text] <= offset + LATE_MS, (text, drawn[text])
    # The same look as the live chat: the host's badge.
    host_comment = page.locator("[data-comment-list] .comment", has_text="welcome all")
    expect(host_comment.locator(".role-badge")).to_have_text("Host")


def test_seeking_shows_the_chat_as_it_was_at_that_moment(open_page, recording, alice, bob):
    first = comment_at(recording, alice, 500, "c0")
    for n in range(1, 26):
        parent = first if n == 19 else None
        comment_at(recording, bob if n % 2 else alice, n * 1_000, f"c{n}", parent=parent)
    page = open_replay(open_page, recording)

    video_at(page, 20)

    expect(page.locator("[data-comment-list] .comment-content").last).to_have_text("c20")
    assert shown(page) == [f"c{n}" for n in range(21)]
    reply = page.locator("[data-comment-list] .comment", has_text="c19")
    expect(reply.locator(".comment-parent")).to_have_text("↪ alice: c0")

    video_at(page, 5.5)

    expect(page.locator("[data-comment-list] .comment-content").last).to_have_text("c5")
    assert shown(page) == [f"c{n}" for n in range(6)]


def test_a_seek_shows_the_last_fifty_comments_before_it(open_page, recording, alice):
    for n in range(80):
        comment_at(recording, alice, 2_000 + n * 250, f"m{n}")
    page = open_replay(open_page, recording)

    video_at(page, 25)

    expect(page.locator("[data-comment-list] .comment-content").last).to_have_text("m79")
    assert shown(page) == [f"m{n}" for n in range(30, 80)]


def test_pausing_stops_the_chat(open_page, recording, alice):
    for n in range(1, 30):
        comment_at(recording, alice, n * 500, f"p{n}")
    page = open_replay(open_page, recording)
    page.evaluate("document.querySelector('.player-video').play()")
    expect(page.get_by_text("p3", exact=True)).to_be_visible()

    page.evaluate("document.querySelector('.player-video').pause()")
    paused_at = page.evaluate("document.querySelector('.player-video').currentTime") * 1000
    before = shown(page)
    time.sleep(1.5)  # what would have arrived in this time, had it played on

    assert shown(page) == before
    assert before[-1] == f"p{int(paused_at // 500)}"


def test_playback_rate_goes_from_half_to_twice(open_page, recording, alice):
    comment_at(recording, alice, 1_000, "at one second")
    page = open_replay(open_page, recording)

    page.locator("[data-replay-rate]").select_option("2")

    assert page.evaluate("document.querySelector('.player-video').playbackRate") == 2
    options = page.locator("[data-replay-rate] option").all_text_contents()
    assert options[0] == "0.5\N{MULTIPLICATION SIGN}" and options[-1] == "2\N{MULTIPLICATION SIGN}"


def test_the_highest_bar_seeks_to_the_busiest_moment(open_page, recording, alice, bob):
    comment_at(recording, alice, 3_000, "quiet start")
    for n in range(12):
        comment_at(recording, bob, 21_000 + n * 50, f"peak {n}")
    comment_at(recording, alice, 26_000, "after the peak")
    page = open_replay(open_page, recording)
    bars = page.locator("[data-heat-strip] .heat-bar")
    heats = [float(h) for h in bars.evaluate_all("bars => bars.map(b => b.dataset.heat)")]
    highest = bars.nth(heats.index(max(heats)))

    highest.click()

    assert page.evaluate("document.querySelector('.player-video').currentTime") == 21
    expect(page.get_by_text("peak 0", exact=True)).to_be_visible()
    assert "after the peak" not in shown(page)
    assert shown(page)[0] == "quiet start"


def test_a_stream_without_video_replays_on_its_own_clock(open_page, stream, alice):
    comment_at(stream, alice, 500, "half a second in")
    comment_at(stream, alice, 20_000, "twenty seconds in")
    page = open_page(end(stream, after_ms=30_000), ready="Stream ended")
    play = page.locator("[data-replay-play]")
    assert shown(page) == []

    play.click()

    expect(page.get_by_text("half a second in")).to_be_visible()
    expect(play).to_have_text("Pause")
    play.click()
    expect(play).to_have_text("Play")

    page.locator("[data-replay-seek]").fill("21000")

    expect(page.get_by_text("twenty seconds in")).to_be_visible()
    expect(page.locator("[data-replay-status]")).to_have_text("Replay")


@pytest.mark.skipif(
    not os.environ.get("LC_SCREENSHOTS"), reason="set LC_SCREENSHOTS=1 to rewrite docs/screenshots"
)
def test_take_a_screenshot_of_a_replay(open_page, recording, alice, bob, charlie, host):
    chat = [
        (host, "Welcome back! This is the recording of today's launch."),
        (alice, "Hello from Lisbon!"),
        (bob, "How long until liftoff?"),
        (charlie, "that camera angle 😍"),
    ]
    for n, (author, content) in enumerate(chat):
        is_host = author == host
        role = Comment.AuthorRole.HOST if is_host else Comment.AuthorRole.VIEWER
        comment_at(
            recording, author, 1_000 + n * 2_500, content,
            author_role=role, is_highlighted=is_host, is_pinned=is_host,
        )  # fmt: skip
    cheers = ["GO GO GO", "🚀🚀🚀", "liftoff!!", "what a view", "goosebumps", "LET'S GO"]
    peaks = {9: 4, 14: 9, 15: 14, 16: 10, 22: 6, 27: 3}
    for second, count in peaks.items():
        for n in range(count):
            author = [alice, bob, charlie][n % 3]
            comment_at(recording, author, second * 1_000 + n * 60, cheers[(second + n) % 6])
    page = open_replay(open_page, recording, alice)
    video_at(page, 14.3)
    last = cheers[(14 + 5) % 6]  # at 14.3 s: the sixth of second 14
    expect(page.locator("[data-comment-list] .comment-content").last).to_have_text(last)
    page.screenshot(path=str(SCREENSHOTS / "replay.png"))
