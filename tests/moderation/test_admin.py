"""The admin as a moderator uses it: a logged-in client posting the admin's own forms."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment
from moderation.models import Ban, BlockedTerm, ModerationAction
from streams.models import Stream

from .conftest import add_comment

pytestmark = pytest.mark.django_db

COMMENTS = reverse("admin:comments_comment_changelist")
STREAMS = reverse("admin:streams_stream_changelist")
BANS = reverse("admin:moderation_ban_changelist")
LOG = reverse("admin:moderation_moderationaction_changelist")


def run_action(client, url, action, objects, reason=""):
    return client.post(
        url,
        {"action": action, "_selected_action": [o.pk for o in objects], "reason": reason},
        follow=True,
    )


def new_term(term, action="reject", match="word"):
    """The blocked-term form as the browser sends it: its radio buttons have a default."""
    return {"term": term, "action": action, "match": match}


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_the_comment_list_is_newest_first_with_author_and_stream(
    moderator_client, alice, bob, stream
):
    older = add_comment(stream, alice, "first!")
    newer = add_comment(stream, bob, "second")

    response = moderator_client.get(COMMENTS)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [newer, older]
    assert b"first!" in response.content and b"Launch day" in response.content


def test_the_comment_list_shows_state_text_and_stream_in_one_line_columns(
    moderator_client, alice, stream
):
    add_comment(stream, alice, "welcome all", is_pinned=True, is_highlighted=True)
    add_comment(stream, alice, "spam " * 100, is_hidden=True)

    html = moderator_client.get(COMMENTS).content.decode()

    columns = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', html)
    assert columns == ["when", "state", "author_link", "content_preview", "stream_link"]
    assert (
        '<span class="lc-flag lc-flag-pinned">pinned</span>'
        '<span class="lc-flag lc-flag-highlighted">highlighted</span>'
    ) in html
    assert '<span class="lc-flag lc-flag-hidden">hidden</span>' in html
    # Long text is cut (the whole of it stays in the title, for a hover).
    assert f'class="lc-text lc-text-hidden" title="{"spam " * 100}">' in html
    assert ">" + ("spam " * 32)[:159] + "…</span>" in html
    assert "livecomments/admin.css" in html


def test_the_comment_list_costs_the_same_queries_for_5_or_50_rows(
    moderator_client, alice, stream, django_assert_max_num_queries, django_assert_num_queries
):
    for n in range(5):
        add_comment(stream, alice, f"c{n}")
    moderator_client.get(COMMENTS)  # warm: session, permissions
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as five:
        moderator_client.get(COMMENTS)
    for n in range(45):
        add_comment(stream, alice, f"d{n}")
    with CaptureQueriesContext(connection) as fifty:
        response = moderator_client.get(COMMENTS)

    assert len(response.context["cl"].result_list) == 50
    assert len(fifty) == len(five)
    # No unbounded COUNT(*) over the whole table: counts are capped by a LIMIT.
    counts = [q["sql"] for q in fifty.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)


def test_the_comment_list_filters_by_stream_author_and_state(
    moderator_client, alice, bob, stream, host
):
    other = Stream.objects.create(title="Other stream", host=host)
    mine = add_comment(stream, alice, "in launch")
    add_comment(other, alice, "elsewhere")
    add_comment(stream, bob, "bob here")
    hidden = add_comment(stream, alice, "gone", is_hidden=True)

    def listed(query):
        return list(moderator_client.get(COMMENTS, query).context["cl"].result_list)

    assert set(listed({"stream": stream.id, "author": alice.id})) == {mine, hidden}
    assert listed({"stream": stream.id, "author": alice.id, "state": "hidden"}) == [hidden]
    assert len(listed({"q": "elsewhere"})) == 1
    assert {c.author for c in listed({"q": "bob"})} == {bob}


def test_a_moderator_pins_and_highlights_in_bulk(moderator_client, moderator, alice, stream):
    comments = [add_comment(stream, alice, f"c{n}") for n in range(3)]

    response = run_action(moderator_client, COMMENTS, "pin", comments[:2], reason="helpful")

    assert "Pinned 2 comments." in messages_of(response)
    assert set(Comment.objects.filter(is_pinned=True)) == set(comments[:2])
    run_action(moderator_client, COMMENTS, "highlight", comments)
    assert Comment.objects.filter(is_highlighted=True).count() == 3
    pins = ModerationAction.objects.filter(kind="pin")
    assert {(a.actor, a.source, a.reason) for a in pins} == {(moderator, "admin", "helpful")}


def test_a_moderator_hides_and_unhides_in_bulk(moderator_client, alice, stream):
    comments = [add_comment(stream, alice, f"c{n}") for n in range(2)]

    run_action(moderator_client, COMMENTS, "hide", comments)
    assert Comment.objects.filter(is_hidden=True).count() == 2
    response = run_action(moderator_client, COMMENTS, "unhide", comments[:1])

    assert "Unhid 1 comment." in messages_of(response)
    assert list(Comment.objects.filter(is_hidden=True)) == [comments[1]]


def test_a_moderator_changes_one_comment_on_its_page(moderator_client, moderator, alice, stream):
    comment = add_comment(stream, alice, "one at a time")
    url = reverse("admin:comments_comment_change", args=[comment.id])
    assert moderator_client.get(url).status_code == 200

    response = moderator_client.post(
        url, {"is_pinned": "on", "is_hidden": "", "is_highlighted": "on", "reason": "good one"}
    )

    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.is_pinned and comment.is_highlighted and not comment.is_hidden
    assert set(ModerationAction.objects.values_list("kind", "reason")) == {
        ("pin", "good one"),
        ("highlight", "good one"),
    }


def test_comments_cannot_be_added_or_deleted_in_the_admin(moderator_client, alice, stream):
    comment = add_comment(stream, alice)
    assert moderator_client.get(reverse("admin:comments_comment_add")).status_code == 403
    delete = reverse("admin:comments_comment_delete", args=[comment.id])
    assert moderator_client.post(delete, {"post": "yes"}).status_code == 403
    assert Comment.objects.filter(id=comment.id).exists()


def test_banning_authors_from_the_comment_list_removes_their_comments(
    moderator_client, alice, bob, stream
):
    spam = [add_comment(stream, alice, "buy now") for _ in range(2)]
    add_comment(stream, bob, "hi")

    response = run_action(moderator_client, COMMENTS, "ban_authors_from_stream", spam[:1])

    assert "Banned: alice." in messages_of(response)
    assert Ban.objects.get(user=alice).stream == stream
    assert Comment.objects.filter(author=alice, is_hidden=False).count() == 0
    assert Comment.objects.filter(author=bob, is_hidden=False).count() == 1


def test_timing_out_authors_bans_them_for_ten_minutes(moderator_client, alice, stream):
    comment = add_comment(stream, alice, "calm down")

    run_action(moderator_client, COMMENTS, "time_out_authors", [comment])

    ban = Ban.objects.get(user=alice)
    assert timedelta(minutes=9) < ban.expires_at - timezone.now() <= timedelta(minutes=10)
    assert not Comment.objects.get(id=comment.id).is_hidden


def test_the_ban_form_bans_with_expiry_and_removal(moderator_client, moderator, alice, stream):
    add_comment(stream, alice, "spam")

    response = moderator_client.post(
        reverse("admin:moderation_ban_add"),
        {
            "username": "alice",
            "stream": stream.id,
            "duration": "60",
            "reason": "spamming links",
            "remove_comments": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    ban = Ban.objects.get(user=alice)
    assert ban.stream == stream and ban.reason == "spamming links"
    assert ban.created_by == moderator
    assert timedelta(minutes=59) < ban.expires_at - timezone.now() <= timedelta(minutes=60)
    assert not Comment.objects.filter(author=alice, is_hidden=False).exists()
    logged = ModerationAction.objects.get(kind="ban")
    assert logged.details["removed_comments"] == 1 and logged.source == "admin"


def test_the_ban_form_makes_site_wide_bans_and_names_unknown_users(moderator_client, alice):
    add = reverse("admin:moderation_ban_add")

    bad = moderator_client.post(add, {"username": "nobody", "site_wide": "on", "duration": ""})
    assert bad.status_code == 200
    assert "There is no user" in str(bad.context["adminform"].form.errors)

    moderator_client.post(add, {"username": "alice", "site_wide": "on", "duration": ""})
    ban = Ban.objects.get(user=alice)
    assert ban.stream is None and ban.expires_at is None


def test_the_ban_form_starts_as_a_ten_minute_timeout_on_a_stream(moderator_client, stream):
    form = moderator_client.get(reverse("admin:moderation_ban_add")).context["adminform"].form

    assert form["duration"].value() == "10"
    assert not form["site_wide"].value()
    assert f'<option value="{stream.id}">' in str(form["stream"])


def test_the_ban_form_asks_for_a_stream_unless_site_wide_is_ticked(moderator_client, alice, stream):
    add = reverse("admin:moderation_ban_add")

    neither = moderator_client.post(add, {"username": "alice", "duration": "10"})
    both = moderator_client.post(
        add, {"username": "alice", "stream": stream.id, "site_wide": "on", "duration": "10"}
    )

    assert neither.context["adminform"].form.errors == {
        "stream": ["Choose the stream, or tick “site-wide instead” for every stream."]
    }
    assert list(both.context["adminform"].form.errors) == ["site_wide"]
    assert not Ban.objects.exists()
    moderator_client.post(add, {"username": "alice", "stream": stream.id, "duration": "10"})
    ban = Ban.objects.get(user=alice)
    assert ban.stream == stream
    assert timedelta(minutes=9) < ban.expires_at - timezone.now() <= timedelta(minutes=10)


def test_banning_a_staff_member_needs_the_confirmation(moderator_client, staff, stream):
    add = reverse("admin:moderation_ban_add")
    ban_sam = {"username": "sam", "stream": stream.id, "duration": "10"}

    refused = moderator_client.post(add, ban_sam)
    assert refused.context["adminform"].form.errors == {
        "confirm_staff": ["sam is staff: tick “yes, ban this staff member” to ban them."]
    }
    assert not Ban.objects.exists()

    confirmed = moderator_client.post(add, {**ban_sam, "confirm_staff": "on"})
    assert confirmed.status_code == 302
    assert Ban.objects.get().user == staff


def test_deleting_a_ban_lifts_it_and_is_logged(moderator_client, moderator, alice, stream):
    from moderation.services import ban_user

    ban = ban_user(alice, stream=stream, source=ModerationAction.Source.COMMAND)

    response = run_action(moderator_client, BANS, "delete_selected", [ban])
    assert response.status_code == 200  # the confirmation page
    moderator_client.post(
        BANS, {"action": "delete_selected", "_selected_action": [ban.pk], "post": "yes"}
    )

    assert not Ban.objects.exists()
    assert ModerationAction.objects.filter(kind="unban", actor=moderator).exists()


def test_the_ban_list_filters_bans_in_force(moderator_client, alice, bob, stream):
    from moderation.services import ban_user

    in_force = ban_user(alice, stream=stream, source="admin")
    expired = ban_user(bob, source="admin", expires_at=timezone.now() + timedelta(minutes=1))
    Ban.objects.filter(id=expired.id).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = moderator_client.get(BANS, {"state": "active"})

    assert list(response.context["cl"].result_list) == [in_force]


def test_blocked_terms_are_added_and_removed_through_the_log(moderator_client, moderator):
    moderator_client.post(reverse("admin:moderation_blockedterm_add"), new_term("spoiler"))
    term = BlockedTerm.objects.get()
    moderator_client.post(
        reverse("admin:moderation_blockedterm_delete", args=[term.pk]), {"post": "yes"}
    )

    assert not BlockedTerm.objects.exists()
    assert list(ModerationAction.objects.order_by("id").values_list("kind", flat=True)) == [
        "block_term",
        "unblock_term",
    ]


def test_blocking_a_term_twice_says_it_is_already_blocked(moderator_client):
    add = reverse("admin:moderation_blockedterm_add")
    moderator_client.post(add, new_term("spoiler"))

    response = moderator_client.post(add, new_term(" SPOILER "))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"term": ["“spoiler” is already blocked."]}
    assert list(BlockedTerm.objects.values_list("term", flat=True)) == ["spoiler"]


def test_a_moderator_ends_a_stream_and_sets_slow_mode(moderator_client, moderator, stream):
    response = run_action(moderator_client, STREAMS, "slow_mode_30", [stream], reason="busy")
    assert "Slow mode one comment per user every 30 s on 1 stream(s)." in messages_of(response)
    stream.refresh_from_db()
    assert stream.slow_mode_seconds == 30

    response = run_action(moderator_client, STREAMS, "end_streams", [stream])

    assert "Ended 1 stream." in messages_of(response)
    stream.refresh_from_db()
    assert stream.status == Stream.Status.ENDED and stream.ended_at is not None
    assert list(ModerationAction.objects.order_by("id").values_list("kind", "actor")) == [
        ("slow_mode", moderator.id),
        ("end_stream", moderator.id),
    ]


def test_slow_mode_is_set_on_the_stream_page(moderator_client, stream):
    url = reverse("admin:streams_stream_change", args=[stream.id])

    moderator_client.post(url, {"title": stream.title, "video_url": "", "slow_mode_seconds": 15})

    stream.refresh_from_db()
    assert stream.slow_mode_seconds == 15
    assert ModerationAction.objects.get().details == {"seconds": 15}


def test_the_stream_list_shows_live_viewers_and_comment_rate(moderator_client, alice, stream):
    for _ in range(3):
        add_comment(stream, alice)

    response = moderator_client.get(STREAMS)

    [shown] = response.context["cl"].result_list
    assert shown.comments_per_minute == 3
    assert shown.live_viewers == 0
    assert b"Live viewers" in response.content and b"Comments / min" in response.content


def test_the_moderation_log_is_read_only(moderator_client, alice, stream):
    from moderation.services import pin_comment

    pin_comment(add_comment(stream, alice).id, source="api")
    entry = ModerationAction.objects.get()

    listing = moderator_client.get(LOG)
    assert listing.status_code == 200 and b"operator (manage.py)" in listing.content
    assert moderator_client.get(reverse("admin:moderation_moderationaction_add")).status_code == 403
    change = reverse("admin:moderation_moderationaction_change", args=[entry.pk])
    assert moderator_client.post(change, {"reason": "rewritten"}).status_code == 403
    delete = reverse("admin:moderation_moderationaction_delete", args=[entry.pk])
    assert moderator_client.post(delete, {"post": "yes"}).status_code == 403
    assert ModerationAction.objects.get().reason == ""


def test_the_log_shows_the_text_and_author_of_the_comment_acted_on(moderator_client, alice, stream):
    from moderation.services import hide_comment, pin_comment

    spam = add_comment(stream, alice, "BUY FOLLOWERS cheap at totally-legit.example " * 3)
    gone = add_comment(stream, alice, "later dropped")
    hide_comment(spam.id, source="api")
    pin_comment(gone.id, source="api")
    Comment.objects.filter(id=gone.id).delete()

    html = moderator_client.get(LOG).content.decode()

    url = reverse("admin:comments_comment_change", args=[spam.id])
    shown = ("BUY FOLLOWERS cheap at totally-legit.example " * 2)[:79] + "…"
    assert f'<strong>alice</strong> · <a href="{url}" title="{spam.content}">“{shown}”</a>' in html
    assert f"<strong>alice</strong> · deleted comment {gone.id}" in html


def test_the_log_reads_the_comments_of_a_page_in_one_query(
    moderator_client, alice, stream, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from moderation.services import pin_comment

    def pin(n):
        for i in range(n):
            pin_comment(add_comment(stream, alice, f"comment {i}").id, source="api")

    pin(2)
    moderator_client.get(LOG)  # warm: session, permissions
    with CaptureQueriesContext(connection) as two:
        moderator_client.get(LOG)
    pin(20)

    with django_assert_num_queries(len(two)) as twenty_two:
        response = moderator_client.get(LOG)

    assert response.content.decode().count("“comment ") == 22
    reads = [q["sql"] for q in twenty_two.captured_queries if 'FROM "comments_comment"' in q["sql"]]
    assert len(reads) == 1


def test_staff_outside_the_moderators_group_cannot_moderate(client, staff, alice, stream):
    comment = add_comment(stream, alice)
    client.force_login(staff)

    assert client.get(COMMENTS).status_code == 403
    run_action(client, COMMENTS, "hide", [comment])
    assert client.get(reverse("admin:moderation_ban_add")).status_code == 403
    assert not Comment.objects.get(id=comment.id).is_hidden


def test_viewers_are_sent_to_the_admin_login(client, alice):
    client.force_login(alice)
    response = client.get(COMMENTS)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_moderators_group_holds_just_what_moderating_needs():
    from django.contrib.auth.models import Group

    perms = set(Group.objects.get(name="Moderators").permissions.values_list("codename", flat=True))
    assert {"change_comment", "add_ban", "delete_ban", "view_moderationaction"} <= perms
    assert not perms & {"delete_comment", "add_comment", "change_moderationaction", "add_user"}


def test_past_the_count_cap_the_list_says_more_than(moderator_client, alice, stream, monkeypatch):
    monkeypatch.setattr("moderation.console.COUNT_CAP", 3)
    for n in range(5):
        add_comment(stream, alice, f"c{n}")

    response = moderator_client.get(COMMENTS)

    assert len(response.context["cl"].result_list) == 5
    assert b"more than 3 comments" in response.content


def test_bulk_actions_refuse_more_than_the_bulk_limit(moderator_client, alice, stream, monkeypatch):
    monkeypatch.setattr("moderation.console.MAX_BULK", 2)
    comments = [add_comment(stream, alice, f"c{n}") for n in range(3)]

    response = run_action(moderator_client, COMMENTS, "hide", comments)

    assert "Select at most 2 at a time" in " ".join(messages_of(response))
    assert not Comment.objects.filter(is_hidden=True).exists()
    assert not ModerationAction.objects.exists()


def queries_for(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [STREAMS, BANS, LOG])
def test_the_other_lists_cost_the_same_queries_for_few_or_many_rows(
    moderator_client, django_user_model, host, url
):
    from moderation.services import ban_user, pin_comment

    def add_rows(n):
        for _ in range(n):
            stream = Stream.objects.create(title="s", host=host)
            user = django_user_model.objects.create_user(f"u{Stream.objects.count()}")
            ban_user(user, stream=stream, source="command")
            pin_comment(add_comment(stream, user).id, source="api")

    add_rows(2)
    moderator_client.get(url)  # warm: session, permissions
    few = queries_for(moderator_client, url)
    add_rows(8)
    assert queries_for(moderator_client, url) == few


def test_a_ban_is_shown_read_only_and_replaced_by_banning_again(moderator_client, alice, stream):
    from moderation.services import ban_user

    ban = ban_user(alice, stream=stream, reason="first warning", source="command")
    url = reverse("admin:moderation_ban_change", args=[ban.pk])

    page = moderator_client.get(url)
    assert page.status_code == 200 and b"first warning" in page.content
    assert moderator_client.post(url, {"reason": "edited"}).status_code == 403
    moderator_client.post(
        reverse("admin:moderation_ban_add"),
        {"username": "alice", "stream": stream.id, "duration": "5", "reason": "second"},
    )
    [replaced] = Ban.objects.filter(user=alice)
    assert replaced.reason == "second" and replaced.expires_at is not None
