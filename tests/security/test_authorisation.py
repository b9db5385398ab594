"""Every moderation path, in the admin and the REST API, is for moderators only.

tests/moderation and tests/api prove each path works for a moderator and check some
refusals. Here every path is tried by everyone who is not a moderator, including the two
near misses: staff holding every moderator permission directly but outside the Moderators
group, and a Moderators member who is not staff. Each path is also run by a moderator, so
a refusal cannot pass because the request itself was wrong.
"""

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import URLPattern, reverse
from rest_framework.test import APIClient

from comments.models import Comment
from livecomments import api_urls
from livecomments.api import ModeratorView
from moderation.models import Ban, BlockedTerm, ModerationAction
from moderation.services import ban_user
from streams.models import Stream
from tests.conftest import make_user
from tests.moderation.conftest import add_comment

pytestmark = pytest.mark.django_db

MODERATOR_PERMISSIONS = importlib.import_module(
    "moderation.migrations.0002_moderators_group"
).MODERATOR_PERMISSIONS

NOT_MODERATORS = ["anonymous", "alice", "staff", "staff_with_permissions", "member_not_staff"]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Seven persona users per test: a fast hasher (autouse fixtures run before theirs).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(django_user_model):
    """Sam: staff, no group, no permissions."""
    return make_user(django_user_model, "sam", is_staff=True)


@pytest.fixture
def staff_with_permissions(django_user_model):
    """Pat: staff holding every moderator permission directly, outside the Moderators group."""
    user = make_user(django_user_model, "pat", is_staff=True)
    for app_label, codename in MODERATOR_PERMISSIONS:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def member_not_staff(django_user_model):
    """Gina: in the Moderators group but not staff."""
    user = make_user(django_user_model, "gina")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def persona(request, name):
    return None if name == "anonymous" else request.getfixturevalue(name)


@pytest.fixture
def world(alice, bob, charlie, stream):
    """Something for every path to act on: comments in each state, a ban, a blocked term."""
    return {
        "plain": add_comment(stream, bob, "plain"),
        "flagged": add_comment(
            stream, bob, "flagged", is_pinned=True, is_highlighted=True, is_hidden=True
        ),
        "ban": ban_user(charlie, stream=stream, source=ModerationAction.Source.COMMAND),
        "term": BlockedTerm.objects.create(term="spoiler"),
        "stream": stream,
    }


STREAM_STATE = (
    "id",
    "status",
    "slow_mode_seconds",
    "locked",
    "min_account_age_minutes",
    "hold_links",
    "shield_saved",
)


def snapshot() -> tuple:
    """What any moderation changes: flags, streams, bans, terms and the moderation log."""
    return (
        sorted(Comment.objects.values_list("id", "is_pinned", "is_highlighted", "is_hidden")),
        sorted(Stream.objects.values_list(*STREAM_STATE)),
        sorted(Ban.objects.values_list("id", "user_id", "stream_id")),
        sorted(BlockedTerm.objects.values_list("term", "action", "match")),
        ModerationAction.objects.count(),
    )


# --- the admin -------------------------------------------------------------------------------

COMMENTS = "admin:comments_comment_changelist"
STREAMS = "admin:streams_stream_changelist"
BANS = "admin:moderation_ban_changelist"


def action(changelist, name, target, **extra):
    def run(client, world):
        return client.post(
            reverse(changelist),
            {"action": name, "_selected_action": [world[target].pk], "reason": "r", **extra},
        )

    return run


def form(url_name, target, data):
    def run(client, world):
        args = [world[target].pk] if target else []
        return client.post(reverse(url_name, args=args), data(world))

    return run


ADMIN_PATHS = {
    **{
        f"comment action {name}": action(COMMENTS, name, "plain")
        for name in ["pin", "highlight", "hide", "ban_authors_from_stream", "time_out_authors"]
    },
    **{
        f"comment action {name}": action(COMMENTS, name, "flagged")
        for name in ["unpin", "unhighlight", "unhide"]
    },
    "comment change form": form(
        "admin:comments_comment_change",
        "plain",
        lambda w: {"is_pinned": "on", "is_highlighted": "on", "is_hidden": "on", "reason": "r"},
    ),
    "stream action end_streams": action(STREAMS, "end_streams", "stream"),
    "stream action slow_mode_30": action(STREAMS, "slow_mode_30", "stream"),
    "stream change form": form(
        "admin:streams_stream_change",
        "stream",
        lambda w: {"title": "Renamed", "video_url": "", "slow_mode_seconds": 15},
    ),
    "ban add form": form(
        "admin:moderation_ban_add",
        None,
        lambda w: {"username": "alice", "stream": w["stream"].pk, "duration": "", "reason": "r"},
    ),
    "ban delete page": form("admin:moderation_ban_delete", "ban", lambda w: {"post": "yes"}),
    "ban action delete_selected": action(BANS, "delete_selected", "ban", post="yes"),
    "blocked term add form": form(
        "admin:moderation_blockedterm_add", None, lambda w: {"term": "giveaway"}
    ),
    "blocked term change form": form(
        "admin:moderation_blockedterm_change",
        "term",
        lambda w: {"action": "hold", "match": "forms"},
    ),
    "blocked term delete page": form(
        "admin:moderation_blockedterm_delete", "term", lambda w: {"post": "yes"}
    ),
}


@pytest.mark.parametrize("path", ADMIN_PATHS)
@pytest.mark.parametrize("who", NOT_MODERATORS)
def test_only_moderators_moderate_in_the_admin(client, request, world, who, path):
    user = persona(request, who)
    if user is not None:
        client.force_login(user)
    before = snapshot()

    response = ADMIN_PATHS[path](client, world)

    assert response.status_code in (200, 302, 403)
    if response.status_code == 302:
        # Refused by the admin's login check, not done and redirected back.
        assert "/admin/login/" in response["Location"]
    assert snapshot() == before


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_a_moderator_takes_every_admin_path(client, moderator, world, path):
    client.force_login(moderator)
    before = snapshot()

    response = ADMIN_PATHS[path](client, world)

    assert response.status_code in (200, 302)
    assert snapshot() != before
    assert ModerationAction.objects.filter(actor=moderator).exists()


# --- the REST API ----------------------------------------------------------------------------

# Endpoints that write but are not moderation: posting a comment (any user) and getting a token.
PUBLIC_WRITES = {"comments", "token"}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def api_endpoints():
    """(url name, view class) for each route of the API."""
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        view_class = getattr(pattern.callback, "cls", None)
        if view_class is not None:
            yield pattern.name, view_class


MODERATION_ENDPOINTS = [
    (name, method)
    for name, view_class in api_endpoints()
    if issubclass(view_class, ModeratorView)
    for method in ("get", *sorted(WRITE_METHODS))
    if hasattr(view_class, method)
]

BODIES = {
    "slow-mode": lambda w: {"seconds": 30},
    "chat-settings": lambda w: {"locked": True, "shield": True},
    "bans": lambda w: {"username": "alice", "streamId": w["stream"].id},
    "blocked-terms": lambda w: {"term": "leak"},
    # A dry run: the term is read from the query string.
    "blocked-term-check": lambda w: {"term": "leak"},
    # PATCH changes what the term does; DELETE reads only the reason.
    "blocked-term": lambda w: {"action": "hold", "reason": "r"},
}


def api_url(name, world):
    if name.startswith("comment-"):
        undoing = name.startswith("comment-un")
        return reverse(f"api:{name}", args=[world["flagged" if undoing else "plain"].id])
    if name in ("end-stream", "slow-mode", "chat-settings"):
        return reverse(f"api:{name}", args=[world["stream"].id])
    if name == "ban":
        return reverse("api:ban", args=[world["ban"].id])
    if name == "blocked-term":
        return reverse("api:blocked-term", args=[world["term"].id])
    return reverse(f"api:{name}")


def call(user, world, name, method):
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    body = BODIES.get(name, lambda w: {"reason": "r"})(world)
    return getattr(client, method)(api_url(name, world), body, format="json")


def test_every_api_endpoint_that_writes_is_for_moderators():
    writers = {
        name
        for name, view_class in api_endpoints()
        if any(hasattr(view_class, method) for method in WRITE_METHODS)
    }
    moderated = {name for name, method in MODERATION_ENDPOINTS if method in WRITE_METHODS}
    assert writers - PUBLIC_WRITES == moderated
    assert {"comment-pin", "comment-hide", "end-stream", "bans", "ban"} <= moderated


@pytest.mark.parametrize(("name", "method"), MODERATION_ENDPOINTS)
@pytest.mark.parametrize("who", NOT_MODERATORS)
def test_only_moderators_moderate_over_the_api(request, world, who, name, method):
    before = snapshot()

    response = call(persona(request, who), world, name, method)

    assert response.status_code == (401 if who == "anonymous" else 403)
    assert response.json()["code"] == "UNAUTHORIZED"
    assert snapshot() == before


@pytest.mark.parametrize(("name", "method"), MODERATION_ENDPOINTS)
def test_a_moderator_uses_every_moderation_endpoint(moderator, world, name, method):
    before = snapshot()

    response = call(moderator, world, name, method)

    assert response.status_code in (200, 201, 204)
    assert (snapshot() == before) == (method == "get")
