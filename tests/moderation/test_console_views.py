"""The live moderation console's page, user card and notes, through Django's test client."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from moderation import services
from moderation.models import ModerationAction, ModeratorNote, Report

from .conftest import add_comment

pytestmark = pytest.mark.django_db

SOURCE = ModerationAction.Source.ADMIN


def card_url(stream, user):
    return f"/moderate/{stream.id}/users/{user.id}/"


def test_an_anonymous_visitor_is_sent_to_log_in(client, stream):
    response = client.get(f"/moderate/{stream.id}/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/moderate/{stream.id}/"


def test_it_refuses_a_viewer_and_staff_outside_the_moderators_group(client, stream, alice, staff):
    for user in (alice, staff):
        client.force_login(user)
        assert client.get(f"/moderate/{stream.id}/").status_code == 403
        assert client.get(card_url(stream, alice)).status_code == 403


def test_it_opens_for_moderators_and_the_stream_host(client, stream, moderator, host):
    for user in (moderator, host):
        client.force_login(user)

        response = client.get(f"/moderate/{stream.id}/")

        assert response.status_code == 200
        config = response.context["console_config"]
        assert (config["streamId"], config["user"]["id"]) == (str(stream.id), str(user.id))
        assert config["usersUrl"] == f"/moderate/{stream.id}/users/"
        assert config["keepsNotes"] is (user == moderator)
        assert b"livecomments/console.js" in response.content


def test_a_host_may_not_moderate_someone_elses_stream(client, stream, alice):
    from streams.models import Stream

    theirs = Stream.objects.create(title="Alice's show", host=alice)
    client.force_login(alice)

    assert client.get(f"/moderate/{theirs.id}/").status_code == 200
    assert client.get(f"/moderate/{stream.id}/").status_code == 403


def test_an_unknown_stream_is_not_found(moderator_client):
    assert moderator_client.get("/moderate/999999/").status_code == 404


def test_the_card_shows_age_comments_history_and_note(
    moderator_client, stream, alice, bob, moderator
):
    seen = add_comment(stream, alice, "first!")
    Report.objects.create(comment=seen, reporter=bob, reason="spam")
    Report.objects.create(comment=add_comment(stream, bob, "hm"), reporter=alice, reason="other")
    hidden = add_comment(stream, alice, "buy followers")
    services.hide_comment(hidden.id, actor=moderator, source=SOURCE, reason="spam")
    services.ban_user(
        alice,
        stream=stream,
        expires_at=timezone.now() + timedelta(minutes=10),
        reason="calm down",
        actor=moderator,
        source=SOURCE,
    )
    ModeratorNote.objects.create(user=alice, text="Warned twice", updated_by=moderator)

    card = moderator_client.get(card_url(stream, alice)).json()

    assert card["user"]["username"] == "alice"
    assert card["user"]["accountAgeMinutes"] == 0
    assert (card["commentCount"], card["hiddenCount"]) == (2, 1)
    assert (card["reportsMade"], card["reportsAgainst"]) == (1, 1)
    assert [c["id"] for c in card["comments"]] == [str(hidden.id), str(seen.id)]
    assert card["comments"][0]["isHidden"] is True
    assert card["restriction"]["reason"] == "calm down"
    assert card["restriction"]["until"] is not None
    kinds = [(entry["kind"], entry["by"], entry["reason"]) for entry in card["history"]]
    assert kinds == [("timeout", "mona", "calm down"), ("hide", "mona", "spam")]
    assert card["note"]["text"] == "Warned twice"
    assert card["note"]["updatedBy"] == "mona"


def test_the_card_costs_the_same_queries_however_long_the_record(
    moderator_client, stream, alice, bob, moderator, django_assert_num_queries
):
    def record(user, count):
        for n in range(count):
            comment = add_comment(stream, user, f"comment {n}")
            services.hide_comment(comment.id, actor=moderator, source=SOURCE)
        services.ban_user(user, stream=stream, actor=moderator, source=SOURCE)
        ModeratorNote.objects.create(user=user, text="note", updated_by=moderator)

    record(alice, 1)
    record(bob, 8)
    Report.objects.create(
        comment=add_comment(stream, bob, "reported"), reporter=alice, reason="spam"
    )

    # session, user, stream, moderator check, target with note, counts, reports, recent
    # comments, restriction, history
    with django_assert_num_queries(10):
        assert moderator_client.get(card_url(stream, alice)).status_code == 200
    with django_assert_num_queries(10):
        assert len(moderator_client.get(card_url(stream, bob)).json()["history"]) == 9


def test_a_host_sees_their_own_stream_only_and_no_notes(client, stream, host, alice, moderator):
    from streams.models import Stream

    elsewhere = Stream.objects.create(title="Elsewhere")
    services.ban_user(alice, stream=elsewhere, actor=moderator, source=SOURCE)
    ModeratorNote.objects.create(user=alice, text="private", updated_by=moderator)
    client.force_login(host)

    card = client.get(card_url(stream, alice)).json()

    assert card["history"] == []
    assert card["note"] is None


def test_a_moderator_saves_a_note(moderator_client, stream, alice, moderator):
    url = card_url(stream, alice) + "note/"

    first = moderator_client.post(url, {"text": " spams links "}, content_type="application/json")
    moderator_client.post(url, {"text": "spams links; warned"}, content_type="application/json")

    assert first.status_code == 200
    assert first.json()["note"]["text"] == "spams links"
    note = ModeratorNote.objects.get(user=alice)
    assert (note.text, note.updated_by) == ("spams links; warned", moderator)
    card = moderator_client.get(card_url(stream, alice)).json()
    assert card["note"]["text"] == "spams links; warned"


def test_only_moderators_save_notes_and_only_sensible_ones(client, stream, host, alice, moderator):
    url = card_url(stream, alice) + "note/"
    client.force_login(host)
    assert client.post(url, {"text": "x"}, content_type="application/json").status_code == 403
    client.force_login(moderator)

    too_long = client.post(url, {"text": "x" * 2001}, content_type="application/json")
    malformed = client.post(url, "not json", content_type="application/json")
    nobody = client.post(
        f"/moderate/{stream.id}/users/999999/note/", {"text": "x"}, content_type="application/json"
    )

    assert (too_long.status_code, malformed.status_code, nobody.status_code) == (400, 400, 404)
    assert not ModeratorNote.objects.exists()


def test_a_note_needs_the_csrf_token(stream, alice, moderator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)

    response = client.post(
        card_url(stream, alice) + "note/",
        json.dumps({"text": "x"}),
        content_type="application/json",
    )

    assert response.status_code == 403


def test_the_admin_links_each_stream_to_its_console(moderator_client, stream):
    console = f'href="/moderate/{stream.id}/"'.encode()

    assert console in moderator_client.get("/admin/streams/stream/").content
    assert console in moderator_client.get(f"/admin/streams/stream/{stream.id}/change/").content
