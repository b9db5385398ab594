"""Blocked terms in the admin: action and match mode on the form and the list, changes through
the log, the rule hit counters, and "check" before saving."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from moderation import services, term_hits
from moderation.models import BlockedTerm, ModerationAction
from streams.models import Stream

from .conftest import add_comment

pytestmark = pytest.mark.django_db

TERMS = reverse("admin:moderation_blockedterm_changelist")
ADD = reverse("admin:moderation_blockedterm_add")


def change_url(term):
    return reverse("admin:moderation_blockedterm_change", args=[term.pk])


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_a_term_is_added_with_its_action_and_match_mode(moderator_client, moderator):
    response = moderator_client.post(
        ADD, {"term": "spoiler", "action": "hold", "match": "forms", "_save": "Save"}
    )

    assert response.status_code == 302
    term = BlockedTerm.objects.get()
    assert (term.term, term.action, term.match) == ("spoiler", "hold", "forms")
    logged = ModerationAction.objects.get()
    assert (logged.kind, logged.actor, logged.details) == (
        "block_term",
        moderator,
        {"term": "spoiler", "action": "hold", "match": "forms"},
    )


def test_changing_a_terms_action_and_mode_is_logged_and_the_term_stays(moderator_client):
    term = services.block_term("spoiler", source="command")

    response = moderator_client.post(
        change_url(term), {"term": "renamed", "action": "hold", "match": "forms"}
    )

    assert response.status_code == 302
    term.refresh_from_db()
    assert (term.term, term.action, term.match) == ("spoiler", "hold", "forms")
    changed = ModerationAction.objects.get(kind="change_term")
    assert changed.details == {
        "term": "spoiler",
        "before": {"action": "reject", "match": "word"},
        "after": {"action": "hold", "match": "forms"},
    }
    log = moderator_client.get(reverse("admin:moderation_moderationaction_changelist"))
    assert "now hold, forms" in log.content.decode()


def test_saving_a_term_unchanged_logs_nothing(moderator_client):
    term = services.block_term("spoiler", source="command")

    moderator_client.post(change_url(term), {"action": "reject", "match": "word"})

    assert not ModerationAction.objects.filter(kind="change_term").exists()


def test_staff_outside_the_moderators_cannot_change_a_term(client, staff):
    term = services.block_term("spoiler", source="command")
    client.force_login(staff)

    response = client.post(change_url(term), {"action": "hold", "match": "forms"})

    assert response.status_code == 403
    term.refresh_from_db()
    assert term.action == "reject"


def test_the_list_shows_action_mode_and_hits_in_the_last_hour_and_all_time(moderator_client):
    spoiler = services.block_term("spoiler", action="hold", match="forms", source="command")
    services.block_term("scam", source="command")
    now = timezone.now()
    term_hits.count({spoiler.id: 3}, {}, now - timedelta(hours=5))
    term_hits.count({spoiler.id: 2}, {spoiler.id: 1}, now)

    response = moderator_client.get(TERMS)

    rows = {t.term: t for t in response.context["cl"].result_list}
    assert (rows["spoiler"].action, rows["spoiler"].match) == ("hold", "forms")
    page = response.content.decode()
    assert "Hold for review" in page and "Word forms and look-alikes" in page
    assert "2 held · 1 refused" in page and "5 held · 1 refused" in page
    admin = response.context["cl"].model_admin
    assert admin.all_time(rows["scam"]) == "—"


def test_check_says_what_a_new_term_would_have_matched_and_saves_nothing(
    moderator_client, alice, stream
):
    for text in ["big sp0ilers ahead", "no spoil", "SPOILER", "hello"]:
        add_comment(stream, alice, text)

    response = moderator_client.post(
        ADD,
        {"term": "spoiler", "action": "hold", "match": "forms", "_check": "Check"},
        follow=True,
    )

    assert not BlockedTerm.objects.exists()
    assert not ModerationAction.objects.exists()
    [said] = messages_of(response)
    assert said.startswith(
        "“spoiler” (hold, forms) would have matched 2 of the last 4 comments on the site: "
    )
    assert "“big sp0ilers ahead”" in said and "“SPOILER”" in said
    # The form comes back with what was typed, ready to save.
    form = response.context["adminform"].form
    assert (form.initial["term"], form.initial["action"], form.initial["match"]) == (
        "spoiler",
        "hold",
        "forms",
    )
    assert b'name="_check"' in response.content


def test_check_on_one_stream_counts_only_its_comments(moderator_client, alice, stream, host):
    other = Stream.objects.create(title="Other", host=host)
    add_comment(stream, alice, "spoiler")
    add_comment(other, alice, "spoiler")
    add_comment(other, alice, "fine")

    response = moderator_client.post(
        ADD,
        {
            "term": "spoiler",
            "action": "reject",
            "match": "word",
            "check_stream": other.pk,
            "_check": "Check",
        },
        follow=True,
    )

    assert messages_of(response) == [
        "“spoiler” (reject, word) would have matched 1 of the last 2 comments on “Other”: “spoiler”"
    ]


def test_check_of_a_term_already_blocked_says_so(moderator_client):
    services.block_term("spoiler", source="command")

    response = moderator_client.post(
        ADD, {"term": "SPOILER", "action": "hold", "match": "word", "_check": "Check"}, follow=True
    )

    assert messages_of(response) == ["“spoiler” is already blocked."]
    assert BlockedTerm.objects.count() == 1
