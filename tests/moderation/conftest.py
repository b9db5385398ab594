"""Moderation fixtures: a staff user outside the Moderators group, logged-in admin clients,
comments to moderate, and two real gateway processes."""

import importlib
import uuid

import pytest
from django.utils import timezone

from moderation.selectors import MODERATORS_GROUP
from tests.conftest import make_user
from tests.gateways import gateways

MODERATOR_PERMISSIONS = importlib.import_module(
    "moderation.migrations.0002_moderators_group"
).MODERATOR_PERMISSIONS


@pytest.fixture
def staff(django_user_model):
    """Sam is staff but not a moderator: he may log in to the admin and nothing more."""
    return make_user(django_user_model, "sam", is_staff=True)


@pytest.fixture
def moderator(moderator):
    """Mona, with the Moderators group's permissions even after a transactional test's flush
    (which empties what the group's data migration created)."""
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.get(name=MODERATORS_GROUP)
    if not group.permissions.exists():
        for app_label, codename in MODERATOR_PERMISSIONS:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return moderator


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


def add_comment(stream, author, content="hello", **flags):
    """Store a comment directly, as the writer would have (for tests that moderate it)."""
    from comments import snowflake
    from comments.models import Comment

    now = timezone.now()
    return Comment.objects.create(
        id=snowflake.generator().next_id(),
        stream=stream,
        author=author,
        content=content,
        idempotency_key=uuid.uuid4(),
        created_at=now,
        received_at=now,
        **flags,
    )


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory, django_db_setup):
    """Two daphne processes on the test database and Redis, shared by a module's tests.

    Tests that use them need transaction=True, so that what they write is committed.
    """
    with gateways(tmp_path_factory.mktemp("gateways"), 2) as started:
        yield started


def call_api(gateway, method, path, user=None, body=None, headers=None):
    """An HTTP request to a gateway process, as an outside client makes it (blocking)."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{gateway.port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    if user is not None:
        request.add_header("Authorization", f"Token {user.auth_token.key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None
