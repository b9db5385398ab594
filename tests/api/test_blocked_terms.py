"""Blocked terms over REST: action and match mode accepted and returned, changed by PATCH
through the log, hit counters in the list; a hold term holds a REST post (202)."""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from moderation import services, term_hits
from moderation.models import BlockedTerm, ModerationAction

pytestmark = pytest.mark.django_db

TERMS = reverse("api:blocked-terms")


def term_url(term_id):
    return reverse("api:blocked-term", args=[term_id])


def test_a_term_is_blocked_with_its_action_and_match_mode(api, moderator):
    response = api(moderator).post(
        TERMS, {"term": "spoiler", "action": "hold", "match": "forms"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("term", "action", "match")} == {
        "term": "spoiler",
        "action": "hold",
        "match": "forms",
    }
    assert body["hitsLastHour"] == body["hitsAllTime"] == {"held": 0, "refused": 0}
    term = BlockedTerm.objects.get()
    assert (term.action, term.match) == ("hold", "forms")


def test_without_action_or_match_a_term_refuses_as_a_whole_word(api, moderator):
    body = api(moderator).post(TERMS, {"term": "spoiler"}, format="json").json()

    assert (body["action"], body["match"]) == ("reject", "word")


@pytest.mark.parametrize(("field", "value"), [("action", "delete"), ("match", "fuzzy")])
def test_an_unknown_action_or_mode_is_invalid_message(api, moderator, field, value):
    response = api(moderator).post(TERMS, {"term": "spoiler", field: value}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_MESSAGE"
    assert response.json()["message"].startswith(f"{field}:")
    assert not BlockedTerm.objects.exists()


def test_patch_changes_a_term_and_the_log_keeps_what_it_was(api, moderator):
    term = services.block_term("spoiler", source="command")

    response = api(moderator).patch(
        term_url(term.id), {"action": "hold", "reason": "finale night"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["action"], response.json()["match"]) == ("hold", "word")
    logged = ModerationAction.objects.get(kind="change_term")
    assert (logged.source, logged.actor, logged.reason) == ("api", moderator, "finale night")
    assert logged.details["before"] == {"action": "reject", "match": "word"}
    assert logged.details["after"] == {"action": "hold", "match": "word"}


def test_patch_of_an_unknown_term_is_not_found(api, moderator):
    response = api(moderator).patch(term_url(999), {"action": "hold"}, format="json")

    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_changing_terms_is_for_moderators(api, alice, staff):
    term = services.block_term("spoiler", source="command")

    assert api().patch(term_url(term.id), {"action": "hold"}, format="json").status_code == 401
    assert api(alice).patch(term_url(term.id), {"action": "hold"}, format="json").status_code == 403
    assert api(staff).patch(term_url(term.id), {"action": "hold"}, format="json").status_code == 403
    term.refresh_from_db()
    assert term.action == "reject"


def test_the_list_carries_each_terms_hits(api, moderator):
    term = services.block_term("spoiler", action="hold", source="command")
    term_hits.count({term.id: 4}, {term.id: 1}, timezone.now())

    [listed] = api(moderator).get(TERMS).json()

    assert listed["hitsLastHour"] == listed["hitsAllTime"] == {"held": 4, "refused": 1}


@pytest.mark.django_db(transaction=True)
def test_a_hold_term_holds_a_post_over_rest(api, alice, stream):
    services.block_term("spoiler", action="hold", match="forms", source="command")

    response = api(alice).post(
        reverse("api:comments", args=[stream.id]),
        {"content": "sp0ilers!"},
        format="json",
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )

    assert response.status_code == 202 and response.json()["status"] == "held"
