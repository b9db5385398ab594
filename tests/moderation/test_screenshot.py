"""A screenshot of the comment moderation page for docs/moderation.md, from the real admin.

Rewrites a file in the repository, so it runs on purpose only:
    LC_SCREENSHOTS=1 pytest tests/moderation/test_screenshot.py
"""

import os
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from comments.models import Comment
from loadbench.browser import CHROMIUM, launch_chromium
from moderation import services
from moderation.models import ModerationAction
from streams.models import Stream
from streams.services import set_slow_mode
from tests.gateways import start_gateway

from .conftest import add_comment

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHAT = [
    ("bob", "Hello from Lisbon!"),
    ("charlie", "How long until liftoff?"),
    ("hannah", "Welcome! Be kind, and keep spoilers out of chat."),
    ("alice", "BUY FOLLOWERS cheap at totally-legit.example"),
    ("bob", "that camera angle 😍"),
    ("charlie", "Is the countdown on the pad clock?"),
    ("alice", "BUY FOLLOWERS cheap at totally-legit.example"),
    ("bob", "the sound is incredible"),
    ("charlie", "GO GO GO"),
    ("hannah", "T-minus 60 seconds, everyone"),
    ("bob", "first time catching one live"),
    ("charlie", "Who else is watching from work? The boss thinks this is a spreadsheet"),
    ("alice", "spoiler: it lands"),
    ("bob", "ignition!!"),
    ("charlie", "look at that plume"),
    ("bob", "the chase camera is following it all the way up, this is unreal"),
    ("hannah", "Max Q in a few seconds"),
    ("charlie", "stage separation confirmed"),
    ("bob", "goosebumps"),
    ("charlie", "what a day"),
]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("LC_SCREENSHOTS"),
        reason="set LC_SCREENSHOTS=1 to rewrite docs/screenshots",
    ),
]


def watch(sockets, server, stream):
    """A viewer's socket joined to the stream (websockets' blocking client)."""
    import json

    from websockets.sync.client import connect

    ws = sockets.enter_context(connect(server.url, origin=server.origin))
    ws.send(json.dumps({"type": "join_stream", "payload": {"streamId": str(stream.id)}}))
    while json.loads(ws.recv(timeout=10))["type"] != "comments_batch":
        pass
    return ws


def moderation_scene(stream, people, moderator):
    start = timezone.now() - timedelta(minutes=4)
    made = []
    for n, (username, content) in enumerate(CHAT):
        comment = add_comment(stream, people[username], content)
        moment = start + timedelta(seconds=12 * n)
        Comment.objects.filter(id=comment.id).update(created_at=moment, received_at=moment)
        made.append(comment)
    source = ModerationAction.Source.ADMIN
    services.highlight_comment(made[2].id, actor=moderator, source=source)
    services.pin_comment(made[2].id, actor=moderator, source=source)
    services.hide_comment(made[3].id, actor=moderator, source=source, reason="spam")
    set_slow_mode(stream.id, 30, actor=moderator, source=source)
    Stream.objects.create(title="Late-night jazz session", host=people["hannah"])
    return made


def test_take_a_screenshot_of_the_comment_moderation_page(
    tmp_path, monkeypatch, alice, bob, charlie, host, moderator, stream
):
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="the screenshot needs Playwright: pip install -e '.[dev]'"
    )
    expect, sync_playwright = playwright_api.expect, playwright_api.sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    Stream.objects.filter(id=stream.id).update(title="Rocket launch, live from the pad")
    people = {"alice": alice, "bob": bob, "charlie": charlie, "hannah": host}
    made = moderation_scene(stream, people, moderator)
    server = start_gateway(tmp_path, {"DJANGO_ALLOW_ASYNC_UNSAFE": ""})
    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(
                base_url=f"http://127.0.0.1:{server.port}", viewport={"width": 1280, "height": 800}
            )
            page.goto("/admin/login/?next=/admin/")
            page.get_by_label("Username").fill("mona")
            page.get_by_label("Password").fill("pw-mona")
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_text("Moderation console")).to_be_visible()

            page.goto(f"/admin/comments/comment/?stream={stream.id}")
            expect(page.locator("#result_list")).to_be_visible()
            spam = made[6]
            page.locator(f'input[name="_selected_action"][value="{spam.id}"]').check()
            page.locator('select[name="action"]').select_option("ban_authors_from_stream")
            page.locator('input[name="reason"]').fill("spam links")
            page.evaluate("window.scrollTo(0, 0)")
            # At 1280 px every column fits, without scrolling sideways.
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
            stream_cell = page.locator("#result_list td.field-stream_link").first.bounding_box()
            assert stream_cell["x"] + stream_cell["width"] <= 1280
            page.screenshot(path=SCREENSHOTS / "admin-comments.png")

            sockets = ExitStack()
            for _ in range(3):
                watch(sockets, server, stream)
            viewers = page.locator('tr:has-text("Rocket launch") td.field-viewers')
            for _ in range(50):  # gateways report viewer counts every second
                page.goto("/admin/streams/stream/")
                if viewers.inner_text() == "3":
                    break
                page.wait_for_timeout(200)
            expect(viewers).to_have_text("3")
            page.screenshot(
                path=SCREENSHOTS / "admin-streams.png",
                clip={"x": 0, "y": 0, "width": 1280, "height": 420},
            )
            sockets.close()
            browser.close()
    finally:
        server.stop()
