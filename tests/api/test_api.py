"""The REST API at each permission level: anonymous, viewer, staff outside the group, moderator."""

import uuid

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from comments.models import Comment
from moderation.models import Ban, BlockedTerm, ModerationAction
from streams.models import Stream
from streams.services import change_chat_settings
from tests.moderation.conftest import add_comment

pytestmark = pytest.mark.django_db


def comments_url(stream):
    return reverse("api:comments", args=[stream.id])


def post_comment(client, stream, content, key=None):
    return client.post(
        comments_url(stream),
        {"content": content},
        format="json",
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )


# --- reading -------------------------------------------------------------------------------


def test_anyone_lists_streams_live_first(api, host):
    ended = Stream.objects.create(title="Yesterday", host=host, status=Stream.Status.ENDED)
    live = Stream.objects.create(title="Now", host=host)

    response = api().get(reverse("api:streams"))

    assert response.status_code == 200
    assert [s["id"] for s in response.json()["results"]] == [str(live.id), str(ended.id)]
    first = response.json()["results"][0]
    assert first["host"] == "hannah" and first["status"] == "live"
    assert first["viewerCount"] == 0 and first["slowModeSeconds"] == 0


def test_an_unknown_stream_is_stream_not_found(api):
    response = api().get(reverse("api:stream", args=[424242]))
    assert response.status_code == 404
    assert response.json() == {
        "code": "STREAM_NOT_FOUND",
        "message": "There is no such stream.",
        "retryable": False,
    }


def test_comments_are_read_by_cursor_oldest_first_without_hidden_ones(api, alice, stream):
    made = [add_comment(stream, alice, f"c{n}") for n in range(5)]
    Comment.objects.filter(id=made[1].id).update(is_hidden=True)
    visible = [c for c in made if c.id != made[1].id]

    first = api().get(comments_url(stream), {"limit": 2}).json()
    assert [c["id"] for c in first["comments"]] == [str(visible[0].id), str(visible[1].id)]
    assert first["comments"][0]["content"] == "c0" and first["comments"][0]["username"] == "alice"
    second = api().get(first["next"]).json()
    assert [c["id"] for c in second["comments"]] == [str(visible[2].id), str(visible[3].id)]
    assert second["next"] is None
    after = api().get(comments_url(stream), {"after": visible[2].id}).json()
    assert [c["id"] for c in after["comments"]] == [str(visible[3].id)]


def test_a_page_of_comments_costs_two_queries(api, alice, bob, stream, django_assert_num_queries):
    for n in range(30):
        add_comment(stream, alice if n % 2 else bob, f"c{n}")
    client = api()
    with django_assert_num_queries(2):  # the stream, then the page with its authors
        response = client.get(comments_url(stream), {"limit": 25})
    assert len(response.json()["comments"]) == 25


@pytest.mark.parametrize("query", [{"after": "abc"}, {"limit": "0"}, {"limit": "999"}])
def test_a_bad_cursor_or_limit_is_invalid_message(api, stream, query):
    response = api().get(comments_url(stream), query)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_MESSAGE"


# --- posting -------------------------------------------------------------------------------
# Posts are stored by the gateway's writer on its own connection, so these tests commit.
posting = pytest.mark.django_db(transaction=True)


def test_posting_needs_a_user(api, stream):
    response = post_comment(api(), stream, "hello")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "UNAUTHORIZED"


@posting
def test_posting_answers_201_with_the_stored_comment(api, alice, stream):
    key = str(uuid.uuid4())
    response = post_comment(api(alice), stream, "  hello from curl  ", key)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "accepted" and body["idempotencyKey"] == key
    assert body["comment"]["id"] == body["commentId"]
    assert body["comment"]["content"] == "hello from curl"
    assert Comment.objects.get(id=int(body["commentId"])).author == alice


@posting
def test_posting_again_with_a_key_returns_the_same_comment(api, alice, stream):
    key = str(uuid.uuid4())
    first = post_comment(api(alice), stream, "once", key)
    again = post_comment(api(alice), stream, "once", key)

    assert again.status_code == 201
    assert again.json()["commentId"] == first.json()["commentId"]
    assert Comment.objects.count() == 1


@pytest.mark.parametrize("key", [None, "", "not-a-uuid"])
def test_posting_without_a_valid_idempotency_key_is_invalid_message(api, alice, stream, key):
    headers = {} if key is None else {"Idempotency-Key": key}
    response = api(alice).post(
        comments_url(stream), {"content": "hi"}, format="json", headers=headers
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_MESSAGE"
    assert "Idempotency-Key" in response.json()["message"]


@posting
@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ("blocked", 422, "CONTENT_VIOLATION"),
        ("empty", 422, "CONTENT_VIOLATION"),
        ("ended", 409, "STREAM_ENDED"),
        ("banned", 403, "BANNED"),
    ],
)
@posting
def test_refused_posts_answer_with_the_spec_code(api, alice, stream, setup, status, code):
    content = "hello"
    if setup == "blocked":
        BlockedTerm.objects.create(term="spoiler")
        content = "spoiler: he dies"
    elif setup == "empty":
        content = "    "
    elif setup == "ended":
        Stream.objects.filter(id=stream.id).update(status=Stream.Status.ENDED)
    elif setup == "banned":
        Ban.objects.create(user=alice, stream=stream)

    response = post_comment(api(alice), stream, content)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Comment.objects.exists()


def test_posting_to_an_unknown_stream_is_stream_not_found(api, alice):
    response = post_comment(api(alice), Stream(id=424242), "hello")
    assert response.status_code == 404
    assert response.json()["code"] == "STREAM_NOT_FOUND"


@posting
def test_too_many_posts_answer_429_with_retry_after(api, alice, stream):
    for n in range(5):
        assert post_comment(api(alice), stream, f"post {n}").status_code == 201

    response = post_comment(api(alice), stream, "one too many")

    assert response.status_code == 429
    assert response.json()["code"] == "RATE_LIMITED" and response.json()["retryable"] is True
    assert 0 < int(response["Retry-After"]) <= 30
    assert response.json()["retryAfter"] == int(response["Retry-After"])


# --- moderation, at each permission level ----------------------------------------------------

LEVELS = [("anonymous", 401), ("alice", 403), ("staff", 403), ("moderator", 200)]


def user_at(level, request):
    return None if level == "anonymous" else request.getfixturevalue(level)


@pytest.mark.parametrize(("level", "expected"), LEVELS)
@pytest.mark.parametrize("action", ["pin", "unpin", "highlight", "unhighlight", "hide", "unhide"])
def test_comment_moderation_is_for_moderators(api, request, bob, stream, level, expected, action):
    comment = add_comment(stream, bob, "moderate me", is_pinned=action == "unpin")
    Comment.objects.filter(id=comment.id).update(
        is_highlighted=action == "unhighlight", is_hidden=action == "unhide"
    )
    url = reverse(f"api:comment-{action}", args=[comment.id])

    response = api(user_at(level, request)).post(url, {"reason": "test"}, format="json")

    assert response.status_code == expected, response.json()
    logged = ModerationAction.objects.filter(kind=action)
    if expected == 200:
        assert response.json()["id"] == str(comment.id)
        assert logged.get().source == "api"
    else:
        assert response.json()["code"] == "UNAUTHORIZED"
        assert not logged.exists()


def test_moderating_an_unknown_comment_is_not_found(api, moderator):
    response = api(moderator).post(reverse("api:comment-pin", args=[1]), format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(("level", "expected"), LEVELS)
def test_ending_a_stream_is_for_moderators(api, request, stream, level, expected):
    response = api(user_at(level, request)).post(reverse("api:end-stream", args=[stream.id]))

    assert response.status_code == expected
    stream.refresh_from_db()
    assert stream.is_live == (expected != 200)


@pytest.mark.parametrize(("level", "expected"), LEVELS)
def test_slow_mode_is_for_moderators(api, request, stream, level, expected):
    url = reverse("api:slow-mode", args=[stream.id])
    response = api(user_at(level, request)).post(url, {"seconds": 30}, format="json")

    assert response.status_code == expected
    stream.refresh_from_db()
    assert stream.slow_mode_seconds == (30 if expected == 200 else 0)


def test_slow_mode_refuses_negative_seconds(api, moderator, stream):
    url = reverse("api:slow-mode", args=[stream.id])
    response = api(moderator).post(url, {"seconds": -1}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_MESSAGE"
    assert response.json()["message"].startswith("seconds:")


@pytest.mark.parametrize(("level", "expected"), LEVELS)
def test_chat_settings_are_for_moderators(api, request, stream, level, expected):
    url = reverse("api:chat-settings", args=[stream.id])
    body = {"locked": True, "minAccountAgeMinutes": 60, "reason": "raid"}

    response = api(user_at(level, request)).post(url, body, format="json")

    assert response.status_code == expected
    stream.refresh_from_db()
    assert (stream.locked, stream.min_account_age_minutes) == (
        (True, 60) if expected == 200 else (False, 0)
    )
    if expected == 200:
        assert response.json() == {
            "slowModeSeconds": 0,
            "locked": True,
            "minAccountAgeMinutes": 60,
            "holdLinks": False,
            "shield": False,
        }


def test_shield_mode_over_the_api_restores_the_settings_when_off(api, moderator, stream):
    url = reverse("api:chat-settings", args=[stream.id])
    client = api(moderator)

    on = client.post(url, {"shield": True}, format="json").json()
    off = client.post(url, {"shield": False}, format="json").json()

    assert (on["shield"], on["slowModeSeconds"], on["holdLinks"]) == (True, 30, True)
    assert off == {
        "slowModeSeconds": 0,
        "locked": False,
        "minAccountAgeMinutes": 0,
        "holdLinks": False,
        "shield": False,
    }


@pytest.mark.parametrize(("level", "expected"), [*LEVELS[:3], ("moderator", 201)])
def test_banning_is_for_moderators(api, request, alice, bob, stream, level, expected):
    body = {"username": "bob", "streamId": stream.id, "minutes": 10, "reason": "rude"}

    response = api(user_at(level, request)).post(reverse("api:bans"), body, format="json")

    assert response.status_code == expected
    assert Ban.objects.filter(user=bob).exists() == (expected == 201)


def test_a_moderator_times_out_removes_comments_and_lifts_the_ban(api, moderator, bob, stream):
    add_comment(stream, bob, "spam")
    client = api(moderator)

    created = client.post(
        reverse("api:bans"),
        {"username": "bob", "streamId": stream.id, "minutes": 10, "removeComments": True},
        format="json",
    )

    assert created.status_code == 201
    assert created.json()["username"] == "bob" and created.json()["expiresAt"]
    assert not Comment.objects.filter(author=bob, is_hidden=False).exists()
    assert [b["id"] for b in client.get(reverse("api:bans")).json()] == [created.json()["id"]]
    lifted = client.delete(reverse("api:ban", args=[created.json()["id"]]))
    assert lifted.status_code == 204
    assert not Ban.objects.exists()
    assert list(ModerationAction.objects.order_by("id").values_list("kind", "source")) == [
        ("ban", "api"),
        ("unban", "api"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "nobody"}, "username"),
        ({"username": "bob", "streamId": 424242}, "streamId"),
        ({"username": "bob", "minutes": 0}, "minutes"),
    ],
)
def test_bad_bans_are_invalid_message_naming_the_field(api, moderator, bob, body, field):
    response = api(moderator).post(reverse("api:bans"), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_MESSAGE"
    assert response.json()["message"].startswith(f"{field}:")


def test_listing_bans_is_for_moderators(api, alice, staff):
    assert api().get(reverse("api:bans")).status_code == 401
    assert api(alice).get(reverse("api:bans")).status_code == 403
    assert api(staff).get(reverse("api:bans")).status_code == 403


@pytest.mark.parametrize(("level", "expected"), [*LEVELS[:3], ("moderator", 201)])
def test_blocking_terms_is_for_moderators(api, request, level, expected):
    body = {"term": "spoiler", "reason": "finale night"}

    response = api(user_at(level, request)).post(reverse("api:blocked-terms"), body, format="json")

    assert response.status_code == expected
    assert BlockedTerm.objects.filter(term="spoiler").exists() == (expected == 201)
    assert api(user_at(level, request)).get(reverse("api:blocked-terms")).status_code == (
        200 if expected == 201 else expected
    )


@posting
def test_a_blocked_term_refuses_comments_until_unblocked(api, moderator, alice, stream):
    client = api(moderator)
    blocked = client.post(reverse("api:blocked-terms"), {"term": "Spoiler"}, format="json").json()

    refused = post_comment(api(alice), stream, "big SPOILER ahead")
    assert refused.status_code == 422 and refused.json()["code"] == "CONTENT_VIOLATION"
    assert [t["term"] for t in client.get(reverse("api:blocked-terms")).json()] == ["Spoiler"]
    again = client.post(reverse("api:blocked-terms"), {"term": "spoiler"}, format="json")
    assert again.json()["id"] == blocked["id"], "blocking a term twice keeps one"

    unblocked = client.delete(reverse("api:blocked-term", args=[blocked["id"]]), format="json")
    assert unblocked.status_code == 204
    assert post_comment(api(alice), stream, "big SPOILER ahead").status_code == 201
    assert list(ModerationAction.objects.order_by("id").values_list("kind", "source")) == [
        ("block_term", "api"),
        ("unblock_term", "api"),
    ]
    gone = client.delete(reverse("api:blocked-term", args=[blocked["id"]]))
    assert gone.status_code == 404 and gone.json()["code"] == "NOT_FOUND"


def test_a_blank_term_is_invalid_message(api, moderator):
    response = api(moderator).post(reverse("api:blocked-terms"), {"term": "  "}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("term:")


# --- tokens, schema, health ------------------------------------------------------------------


def test_a_user_gets_their_token_with_username_and_password(api, alice):
    url = reverse("api:token")
    response = api().post(url, {"username": "alice", "password": "pw-alice"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"token": alice.auth_token.key}

    wrong = api().post(url, {"username": "alice", "password": "nope"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "INVALID_MESSAGE"


def test_a_browser_with_a_session_gets_a_token_without_a_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("login"))
    logged_in = browser.post(
        reverse("login"),
        {
            "username": "alice",
            "password": "pw-alice",
            "csrfmiddlewaretoken": browser.cookies[settings.CSRF_COOKIE_NAME].value,
        },
    )
    assert logged_in.status_code == 302 and settings.SESSION_COOKIE_NAME in browser.cookies

    response = browser.post(
        reverse("api:token"),
        {"username": "alice", "password": "pw-alice"},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"token": alice.auth_token.key}


def test_the_openapi_schema_and_docs_are_served(api):
    schema = api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/streams/{stream_id}/comments/" in paths
    assert "/api/comments/{comment_id}/pin/" in paths
    assert "/api/auth/token/" in paths
    docs = api().get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    # Swagger UI comes from our own static files, so the page works offline.
    page = docs.content.decode()
    assert "cdn." not in page and "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_the_schema_describes_comments_as_the_api_sends_them(api, alice, stream):
    add_comment(stream, alice, parent=add_comment(stream, alice))
    [sent, _] = api().get(reverse("api:comments", args=[stream.id])).json()["comments"]
    schema = api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]

    def resolve(ref):
        return components[ref.rsplit("/", 1)[1]]

    responses = schema["paths"]["/api/streams/{stream_id}/comments/"]["get"]["responses"]
    page = resolve(responses["200"]["content"]["application/json"]["schema"]["$ref"])
    comment = resolve(page["properties"]["comments"]["items"]["$ref"])

    assert set(comment["required"]) == set(comment["properties"]) == set(sent)
    assert resolve(comment["properties"]["metadata"]["$ref"])["required"] == ["receivedAt"]
    assert comment["properties"]["isPinned"]["type"] == "boolean"


def test_healthz_says_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_the_database_and_redis(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    expected_redis = "ok" if settings.REDIS_URL else "not configured"
    assert response.json()["checks"] == {"database": "ok", "redis": expected_redis}


def test_readyz_is_503_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unreachable"


@posting
def test_a_held_comment_posted_over_rest_is_answered_202_with_no_comment(
    api, alice, moderator, stream
):
    change_chat_settings(stream.id, {"hold_links": True}, actor=moderator, source="admin")

    response = api(alice).post(
        reverse("api:comments", args=[stream.id]),
        {"content": "linky.example"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["comment"]) == ("held", None)
    assert body["commentId"]
