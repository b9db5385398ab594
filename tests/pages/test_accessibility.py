"""WCAG 2.1 A and AA, checked by axe-core (npm, node_modules/axe-core) in a real Chromium.

Each page is checked in the states a viewer meets: the stream page live and ended, signed
in (with their own comment's ⋮ menu open, and the inline editor) and anonymous, the stream
list and the login page. Any serious or critical violation fails the test, listed rule by
rule with the elements it found, so the failure says what to fix.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from comments.models import Comment
from streams.models import Stream
from tests.browser import PLAYWRIGHT_MISSING
from tests.pages.test_ended_stream import end_as_admin
from tests.pages.test_stream_page import comment_item
from tests.replay import comment_at

playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
expect = playwright_api.expect

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ["serious", "critical"]
# What axe cannot decide by itself ("needs review") fails too, unless a person has looked
# at it: rule → (the elements it may name, why they pass).
REVIEWED = {
    "video-caption": (
        "video.player-video",
        "the stream's video is the host's; the demo's clip has no sound track",
    ),
    "color-contrast": (
        ".comment-menu-button",
        "the ⋮ is a symbol, not text: #a3a3b2 on #18181d is 7.1:1 (6.6:1 on a hovered row), "
        "over the 3:1 of 1.4.11, non-text contrast",
    ),
    "label-content-name-mismatch": (
        ".comment-menu-button",
        "the ⋮ is a symbol, not a word the name could contain",
    ),
}

RUN_AXE = """async ({tags, impacts, reviewed}) => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    const unreviewed = (finding) => ({
        ...finding,
        nodes: finding.nodes.filter((node) => {
            const element = document.querySelector(node.target[0]);
            return !(reviewed[finding.id] && element?.matches(reviewed[finding.id]));
        }),
    });
    const failing = (finding) => impacts.includes(finding.impact) && finding.nodes.length;
    return {
        rulesRun: result.passes.length + result.violations.length + result.incomplete.length,
        violations: result.violations.filter(failing),
        unreviewed: result.incomplete.map(unreviewed).filter(failing),
    };
}"""


def axe_findings(page) -> dict:
    """Run axe over the whole page as it is now: its serious and critical findings."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci (axe-core is a devDependency)")
    page.add_script_tag(path=str(AXE))
    reviewed = {rule: selector for rule, (selector, _why) in REVIEWED.items()}
    return page.evaluate(
        RUN_AXE, {"tags": WCAG_21_AA, "impacts": FAILING_IMPACTS, "reviewed": reviewed}
    )


def describe(findings: list[dict]) -> str:
    lines = []
    for finding in findings:
        lines.append(f"  {finding['impact']}: {finding['id']}: {finding['help']}")
        for node in finding["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"      {' '.join(node['target'])}: {summary}")
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    findings = axe_findings(page)
    assert findings["rulesRun"] > 10, f"axe ran only {findings['rulesRun']} rules on {where}"
    problems = []
    if findings["violations"]:
        problems.append(f"violations:\n{describe(findings['violations'])}")
    if findings["unreviewed"]:
        problems.append(f"for review (see REVIEWED):\n{describe(findings['unreviewed'])}")
    assert not problems, f"axe on {where}, WCAG 2.1 A and AA:\n" + "\n".join(problems)


@pytest.fixture
def chat(stream, alice, bob, host):
    """A stream with a video and the comments that bring out each part of a comment."""
    stream.video_url = "/static/demo/demo-loop.webm"
    stream.save(update_fields=["video_url"])
    # Two minutes in; the comments fall in its first seconds, where a replay finds them.
    Stream.objects.filter(id=stream.id).update(created_at=timezone.now() - timedelta(minutes=2))
    stream.refresh_from_db()
    lines = [
        (host, "Welcome! Be kind.", Comment.AuthorRole.HOST, True),
        (bob, "@alice are you watching?", Comment.AuthorRole.VIEWER, False),
        (bob, "مرحبا من القاهرة", Comment.AuthorRole.VIEWER, False),
        (alice, "my own words", Comment.AuthorRole.VIEWER, False),
    ]
    for n, (author, content, role, pinned) in enumerate(lines):
        comment_at(
            stream,
            author,
            1000 + 2000 * n,
            content,
            author_role=role,
            is_highlighted=role != Comment.AuthorRole.VIEWER,
            is_pinned=pinned,
        )
    return stream


def test_the_live_stream_page_has_no_serious_violations(open_page, chat, alice):
    page = open_page(chat, alice)
    expect(comment_item(page, "my own words")).to_have_count(1)
    assert_accessible(page, "the live stream page, signed in")

    comment_item(page, "my own words").get_by_role(
        "button", name="Edit or delete your comment"
    ).click()
    expect(page.get_by_role("button", name="Edit your comment", exact=True)).to_be_visible()
    assert_accessible(page, "the live stream page with the ⋮ menu open")

    page.get_by_role("button", name="Edit your comment", exact=True).click()
    expect(page.get_by_label("Edit your comment (Enter saves, Escape cancels)")).to_be_focused()
    assert_accessible(page, "the live stream page with the inline editor")


def test_the_live_stream_page_has_no_serious_violations_for_an_anonymous_viewer(open_page, chat):
    page = open_page(chat)
    expect(comment_item(page, "my own words")).to_have_count(1)
    assert_accessible(page, "the live stream page, anonymous")


def test_the_ended_stream_page_has_no_serious_violations(open_page, chat, alice, moderator):
    end_as_admin(chat, moderator)
    for user, who in [(alice, "signed in"), (None, "anonymous")]:
        page = open_page(chat, user, ready="Stream ended")
        # The replay shows the chat as it stood at the video's position: past every comment.
        page.locator("video").evaluate("video => { video.currentTime = 20; }")
        expect(comment_item(page, "my own words")).to_have_count(1)
        assert_accessible(page, f"the ended stream page, {who}")


def test_the_list_and_login_pages_have_no_serious_violations(browser, page_server, chat, moderator):
    Stream.objects.create(title="Jazz session", host=moderator, status=Stream.Status.ENDED)
    context = browser.new_context(base_url=page_server.url)
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.get_by_role("link", name="Jazz session")).to_be_visible()
        assert_accessible(page, "the stream list")
        page.goto("/accounts/login/")
        assert_accessible(page, "the login page")
        page.get_by_label("Username").fill("nobody")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".errorlist")).to_be_visible()
        assert_accessible(page, "the login page after a failed login")
    finally:
        context.close()
