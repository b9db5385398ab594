"""The console's blocked terms panel, on the server side: moderators get it, a stream's host
does not (terms apply to every stream), and its dry run counts this stream's last comments
without storing or logging anything. The panel's changes go through the REST API on the
moderator's session (tests/api/test_blocked_terms.py covers those endpoints)."""

import pytest
from django.urls import reverse

from moderation.models import BlockedTerm, ModerationAction
from moderation.selectors import DRY_RUN_COMMENTS

from .conftest import add_comment

pytestmark = pytest.mark.django_db

CHECK = reverse("api:blocked-term-check")


def check(client, **query):
    return client.get(CHECK, query, HTTP_ACCEPT="application/json")


def test_moderators_get_the_terms_panel_and_the_host_does_not(client, stream, moderator, host):
    client.force_login(moderator)
    mine = client.get(f"/moderate/{stream.id}/")
    client.force_login(host)
    theirs = client.get(f"/moderate/{stream.id}/")

    assert mine.context["console_config"]["terms"] == {
        "url": reverse("api:blocked-terms"),
        "checkUrl": CHECK,
    }
    assert b"data-terms-panel" in mine.content
    assert theirs.context["console_config"]["terms"] is None
    assert b"data-terms-panel" not in theirs.content


def test_the_dry_run_counts_this_streams_comments_and_stores_nothing(
    moderator_client, stream, alice
):
    from streams.models import Stream

    elsewhere = Stream.objects.create(title="Another show")
    for content in ["no SPOILERS please", "sp0iler!", "spoil the fun", "hello"]:
        add_comment(stream, alice, content)
    add_comment(elsewhere, alice, "spoilers here too")

    forms = check(moderator_client, term="spoiler", match="forms", streamId=stream.id)
    word = check(moderator_client, term="spoiler", match="word", streamId=stream.id)

    assert forms.status_code == 200
    assert forms.json() == {
        "matched": 2,
        "of": 4,
        "examples": ["sp0iler!", "no SPOILERS please"],
    }
    assert word.json()["matched"] == 0
    assert not BlockedTerm.objects.exists()
    assert not ModerationAction.objects.exists()


def test_the_dry_run_looks_at_the_last_thousand_comments_only(moderator_client, stream, alice):
    add_comment(stream, alice, "an old spoiler")
    for _ in range(DRY_RUN_COMMENTS):
        add_comment(stream, alice, "hello")

    found = check(moderator_client, term="spoiler", streamId=stream.id).json()

    assert (found["matched"], found["of"]) == (0, DRY_RUN_COMMENTS)


def test_the_dry_run_refuses_a_blank_term_and_an_unknown_stream(moderator_client, stream):
    blank = check(moderator_client, term="  ", streamId=stream.id)
    unknown = check(moderator_client, term="spoiler", streamId=stream.id + 1000)

    assert (blank.status_code, blank.json()["code"]) == (400, "INVALID_MESSAGE")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "STREAM_NOT_FOUND")


def test_only_moderators_run_the_dry_run(client, stream, host, alice):
    assert check(client, term="spoiler").status_code == 401
    for user in (host, alice):
        client.force_login(user)
        assert check(client, term="spoiler", streamId=stream.id).status_code == 403
