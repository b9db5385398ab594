"""A screenshot of the live moderation console for docs/moderation.md, from a real gateway.

Rewrites a file in the repository, so it runs on purpose only:
    LC_SCREENSHOTS=1 pytest tests/moderation/test_console_screenshot.py
"""

import os
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from comments.models import Comment
from loadbench.browser import CHROMIUM, launch_chromium
from moderation import services, term_hits
from moderation.models import ModerationAction, ModeratorNote
from streams.models import Stream
from streams.services import set_slow_mode
from tests.gateways import start_gateway

from .conftest import add_comment
from .test_screenshot import CHAT, SCREENSHOTS, watch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("LC_SCREENSHOTS"),
        reason="set LC_SCREENSHOTS=1 to rewrite docs/screenshots",
    ),
]

MORE_CHAT = [
    ("dana", "is the webcast delayed for anyone else?"),
    ("erik", "audio is perfect here"),
    ("alice", "FREE GIFT CARDS at totally-legit.example click now"),
    ("frank", "first stage looks nominal"),
    ("dana", "@hannah what's the payload today?"),
    ("hannah", "A weather satellite, going to geostationary orbit."),
    ("erik", "LET'S GOOOO"),
    ("frank", "that was the smoothest separation I've seen"),
]


def console_scene(stream, people, moderator):
    """A busy few minutes: chat from several people, one spammer, a pinned host message."""
    source = ModerationAction.Source.ADMIN
    User = type(moderator)
    User.objects.update(date_joined=timezone.now() - timedelta(days=400))
    User.objects.filter(id=people["alice"].id).update(
        date_joined=timezone.now() - timedelta(days=2)
    )
    chat = CHAT + MORE_CHAT
    start = timezone.now() - timedelta(seconds=2 * len(chat))
    made = []
    for n, (username, content) in enumerate(chat):
        role = "host" if username == "hannah" else "viewer"
        comment = add_comment(stream, people[username], content, author_role=role)
        moment = start + timedelta(seconds=2 * n)
        Comment.objects.filter(id=comment.id).update(created_at=moment, received_at=moment)
        made.append(comment)
    welcome = next(c for c in made if c.content.startswith("Welcome"))
    services.highlight_comment(welcome.id, actor=moderator, source=source)
    services.pin_comment(welcome.id, actor=moderator, source=source)
    spam = [c for c in made if c.author == people["alice"]]
    services.hide_comment(spam[0].id, actor=moderator, source=source, reason="spam links")
    services.ban_user(
        people["alice"],
        stream=Stream.objects.create(title="Yesterday's launch"),
        expires_at=timezone.now() + timedelta(hours=1),
        reason="spam links",
        actor=moderator,
        source=source,
    )
    set_slow_mode(stream.id, 10, actor=moderator, source=source)
    ModeratorNote.objects.create(
        user=people["alice"],
        text="Posts the same gift-card link on every launch. Ban on sight if it continues.",
        updated_by=moderator,
    )
    # Waiting for review: a link held by "hold links", and a comment viewers reported.
    for author, content in [
        ("dana", "full telemetry feed here: flightclub.example/live"),
        ("frank", "mirror with no delay → rocketcams.example"),
    ]:
        add_comment(
            stream,
            people[author],
            content,
            is_hidden=True,
            review=Comment.Review.HELD,
            held_reason="link",
        )
    ads = [c for c in made if c.content.startswith("BUY FOLLOWERS")][-1]
    work = next(c for c in made if c.content.startswith("Who else is watching"))
    for comment, reporter, reason in [
        (ads, "bob", "spam"),
        (ads, "charlie", "spam"),
        (work, "erik", "other"),
    ]:
        services.report_comment(
            comment.id, reporter=people[reporter], stream_id=stream.id, reason=reason
        )
    # Rules at work: what each term held or refused, this hour and before.
    earlier = timezone.now() - timedelta(hours=3)
    for term, action, match, hour, before in [
        ("spoiler", "hold", "forms", (3, 0), (14, 0)),
        ("free gift", "reject", "word", (0, 2), (0, 31)),
        ("followers", "hold", "forms", (1, 0), (6, 0)),
    ]:
        blocked = services.block_term(
            term, action=action, match=match, actor=moderator, source=source
        )
        term_hits.count({blocked.id: hour[0]}, {blocked.id: hour[1]}, timezone.now())
        term_hits.count({blocked.id: before[0]}, {blocked.id: before[1]}, earlier)
    return made


def test_take_a_screenshot_of_the_console(
    tmp_path, monkeypatch, django_user_model, alice, bob, charlie, host, moderator, stream
):
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="the screenshot needs Playwright: pip install -e '.[dev]'"
    )
    expect, sync_playwright = playwright_api.expect, playwright_api.sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from tests.conftest import make_user

    Stream.objects.filter(id=stream.id).update(title="Rocket launch, live from the pad")
    people = {"alice": alice, "bob": bob, "charlie": charlie, "hannah": host}
    for name in ("dana", "erik", "frank"):
        people[name] = make_user(django_user_model, name)
    console_scene(stream, people, moderator)
    server = start_gateway(tmp_path, {"DJANGO_ALLOW_ASYNC_UNSAFE": ""})
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright, ExitStack() as sockets:
            for _ in range(3):
                watch(sockets, server, stream)
            browser = launch_chromium(playwright)
            page = browser.new_page(
                base_url=f"http://127.0.0.1:{server.port}", viewport={"width": 1280, "height": 800}
            )
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill("mona")
            page.get_by_label("Password").fill("pw-mona")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/")
            page.goto(f"/moderate/{stream.id}/")
            expect(page.locator("[data-connection]")).to_have_text("Live")
            expect(page.locator("[data-viewer-count]")).to_have_text("4 watching")

            expect(page.locator("[data-held-list] li")).to_have_count(2)
            expect(page.locator("[data-report-list] li")).to_have_count(2)
            # The blocked terms, with a new one's dry run shown before it is saved.
            terms = page.locator("[data-terms-panel]")
            expect(terms.locator("li[data-term-id]")).to_have_count(3)
            terms.get_by_label("New term").fill("telemetry")
            expect(terms.locator("[data-term-dry-run]")).to_contain_text("Would have matched 1")
            page.screenshot(path=SCREENSHOTS / "console-terms.png")
            terms.get_by_label("New term").fill("")
            rows = page.locator("li[data-comment-id]")
            page.locator("[data-reason]").fill("spoilers")
            spoiler = rows.filter(has_text="spoiler: it lands")
            spoiler.get_by_role("button", name="Hide alice's comment").click()
            expect(spoiler).to_contain_text("Hidden")
            page.locator("[data-reason]").fill("")
            spam = rows.filter(has_text="FREE GIFT CARDS")
            spam.get_by_role("button", name="Open alice's user card").click()
            expect(page.locator("[data-card-history] li")).to_have_count(3)
            # The keyboard on a comment shows its row's actions.
            spam.focus()
            page.screenshot(path=SCREENSHOTS / "console.png")
            browser.close()
    finally:
        server.stop()
