"""An ended stream's page replays its chat in step with a real <video> (the demo clip), or
with a clock of its own when there is no video. The player's controls are the replay's,
with the heat strip of the moments standing on the timeline; a comment's ⋮ does what
still applies to a replay."""

import os
import time
from pathlib import Path

import pytest

from comments.models import Comment
from moderation.models import Report
from streams.management.commands.seed_demo import demo_video_url
from tests.browser import PLAYWRIGHT_MISSING
from tests.replay import comment_at, end

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

# A comment shows when the playhead reaches its offset, and no later than this after.
LATE_MS = 300
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def recording(stream):
    """The stream with the demo clip (30 s) as its recording, ended after 30 s."""
    stream.video_url = demo_video_url()
    stream.save()
    return stream


def open_replay(open_page, stream, user=None, **options):
    page = open_page(end(stream, after_ms=30_000), user, ready="Stream ended", **options)
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


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_heat_strip_stands_on_the_videos_timeline(open_page, recording, alice, viewport):
    comment_at(recording, alice, 3_000, "a moment")
    page = open_replay(open_page, recording, viewport=viewport)
    video = page.locator(".player-video").bounding_box()
    strip = page.locator("[data-heat-strip]").bounding_box()
    timeline = page.get_by_role("slider", name="Position in the stream").bounding_box()
    frame = page.locator(".player-frame").bounding_box()
    assert video and strip and timeline and frame

    # Under the picture, in its frame, the strip right on top of the timeline...
    assert page.evaluate("document.querySelector('.player-video').controls") is False
    assert video["y"] + video["height"] <= strip["y"]
    assert 0 <= timeline["y"] - (strip["y"] + strip["height"]) + timeline["height"] / 2 <= 8
    assert frame["y"] + frame["height"] >= timeline["y"] + timeline["height"]
    # ...and as wide as the thumb travels on it, so a bar is over the time it counts.
    thumb = timeline["width"] - strip["width"]
    assert 8 <= thumb <= 16
    assert abs(strip["x"] - (timeline["x"] + thumb / 2)) <= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


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
    # The timeline under the bar says the same moment.
    expect(page.locator("[data-replay-seek]")).to_have_value("21000")
    expect(page.locator(".replay-position")).to_have_text("0:21 / 0:30")


def test_the_players_buttons_play_pause_seek_and_unmute(open_page, recording, alice):
    comment_at(recording, alice, 1_000, "one second in")
    comment_at(recording, alice, 16_000, "sixteen seconds in")
    page = open_replay(open_page, recording)
    playing = "!document.querySelector('.player-video').paused"

    page.get_by_role("button", name="Play").click()

    expect(page.get_by_text("one second in")).to_be_visible()
    assert page.evaluate(playing)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    assert not page.evaluate(playing)
    # A click halfway along the timeline: the middle of the clip.
    timeline = page.get_by_role("slider", name="Position in the stream")
    box = timeline.bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator(".replay-position")).to_have_text("0:15 / 0:30")
    assert page.evaluate("document.querySelector('.player-video').currentTime") == 15
    assert shown(page) == ["one second in"]
    page.get_by_role("button", name="Unmute").click()
    assert page.evaluate("document.querySelector('.player-video').muted") is False
    expect(page.get_by_role("button", name="Mute")).to_be_visible()


def menu_button(page, name):
    return page.get_by_role("button", name=name, exact=True)


def in_the_chat(page, text):
    return page.locator("[data-comment-list] .comment-content", has_text=text)


def test_a_moderator_hides_a_replayed_comment_from_every_replay_at_once(
    open_page, recording, alice, bob, moderator
):
    comment_at(recording, alice, 2_000, "spoiler in the replay")
    comment_at(recording, bob, 2_500, "fine words")
    mod = open_replay(open_page, recording, moderator)
    viewer = open_replay(open_page, recording, bob)
    for page in (mod, viewer):
        video_at(page, 5)
        expect(in_the_chat(page, "spoiler in the replay")).to_be_visible()
    bar = mod.locator("[data-heat-strip] .heat-bar[data-offset='2000']")
    expect(bar).to_have_attribute("title", "0:02: 2 comments, 0 reactions")

    menu_button(mod, "Moderate alice's comment").click()
    menu = mod.get_by_role("dialog", name="Moderate alice's comment")
    # After the end, hiding is what is left to do to a comment: no pins, timeouts or bans.
    expect(menu.get_by_role("button")).to_have_text(["Hide"])
    menu.get_by_role("button", name="Hide alice's comment").click()

    expect(mod.locator("[data-moderation-status]")).to_have_text("Hid alice's comment.")
    for page in (mod, viewer):
        expect(in_the_chat(page, "spoiler in the replay")).to_be_hidden()
        expect(in_the_chat(page, "fine words")).to_be_visible()
    expect(bar).to_have_attribute("title", "0:02: 1 comments, 0 reactions")
    assert Comment.objects.get(content="spoiler in the replay").is_hidden


def test_a_viewer_reports_a_replayed_comment_and_deletes_their_own(
    open_page, recording, alice, bob
):
    comment_at(recording, alice, 2_000, "rude words")
    comment_at(recording, bob, 2_500, "my own words")
    page = open_replay(open_page, recording, bob)
    video_at(page, 5)
    expect(in_the_chat(page, "my own words")).to_be_visible()
    # Nobody replies to a stream that is over.
    expect(page.locator("[data-comment-list] .comment-reply")).to_have_count(0)

    menu_button(page, "Report alice's comment").click()
    page.get_by_role("button", name="Report alice's comment: spam").click()

    rude = page.locator("[data-comment-list] .comment", has_text="rude words")
    expect(rude.locator(".comment-reported")).to_have_text("Reported")
    assert Report.objects.get().reason == "spam"
    menu_button(page, "Delete your comment").click()
    own_menu = page.get_by_role("dialog", name="Delete your comment")
    expect(own_menu.get_by_role("button")).to_have_text(["Delete"])
    own_menu.get_by_role("button", name="Delete your comment").click()
    own_menu.get_by_role("button", name="Yes, delete your comment").click()
    expect(in_the_chat(page, "my own words")).to_be_hidden()
    assert Comment.objects.get(content="my own words").deleted_at is not None


def test_a_stream_without_video_replays_on_its_own_clock(open_page, stream, alice):
    comment_at(stream, alice, 500, "half a second in")
    comment_at(stream, alice, 20_000, "twenty seconds in")
    page = open_page(end(stream, after_ms=30_000), ready="Stream ended")
    play = page.locator("[data-replay-play]")
    assert shown(page) == []

    play.click()

    expect(page.get_by_text("half a second in")).to_be_visible()
    expect(play).to_have_accessible_name("Pause")
    play.click()
    expect(play).to_have_accessible_name("Play")

    page.locator("[data-replay-seek]").fill("21000")

    expect(page.get_by_text("twenty seconds in")).to_be_visible()
    expect(page.locator("[data-replay-status]")).to_have_text("Chat replay")


@pytest.mark.skipif(
    not os.environ.get("LC_SCREENSHOTS"), reason="set LC_SCREENSHOTS=1 to rewrite docs/screenshots"
)
@pytest.mark.parametrize(
    "name, options",
    [("replay.png", {}), ("replay-phone.png", {"viewport": PHONE, "touch": True})],
)
def test_take_a_screenshot_of_a_replay(
    open_page, recording, alice, bob, charlie, host, name, options
):
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
    page = open_replay(open_page, recording, alice, **options)
    video_at(page, 14.3)
    last = cheers[(14 + 5) % 6]  # at 14.3 s: the sixth of second 14
    expect(page.locator("[data-comment-list] .comment-content").last).to_have_text(last)
    page.screenshot(path=str(SCREENSHOTS / name))
