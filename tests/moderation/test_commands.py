"""The operators' commands: ban, unban and moderator (SPEC §5), with their bad input."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from comments.models import Comment
from moderation.models import Ban, ModerationAction
from moderation.selectors import is_moderator
from tests import gateways

from .conftest import add_comment

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_ban_bans_from_one_stream_and_is_logged(alice, stream):
    out = run("ban", "alice", "--stream", str(stream.id), "--reason", "spam")

    assert out.strip() == f"Banned alice from stream {stream.id} (Launch day)."
    ban = Ban.objects.get(user=alice)
    assert ban.stream == stream and ban.expires_at is None and ban.reason == "spam"
    logged = ModerationAction.objects.get()
    assert (logged.kind, logged.source, logged.actor, logged.target_user) == (
        "ban",
        "command",
        None,
        alice,
    )


def test_ban_without_a_stream_is_site_wide(alice):
    assert run("ban", "alice").strip() == "Banned alice from every stream."
    assert Ban.objects.get(user=alice).stream is None


def test_ban_with_minutes_is_a_timeout(alice, stream):
    out = run("ban", "alice", "--stream", str(stream.id), "--minutes", "15")

    assert "for 15 minutes" in out
    left = Ban.objects.get(user=alice).expires_at - timezone.now()
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)


def test_ban_can_remove_their_comments(alice, bob, stream):
    add_comment(stream, alice, "spam")
    add_comment(stream, bob, "hi")

    run("ban", "alice", "--stream", str(stream.id), "--remove-comments")

    assert list(Comment.objects.filter(is_hidden=True).values_list("author", flat=True)) == [
        alice.id
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody"], "There is no user 'nobody'."),
        (["alice", "--stream", "999999"], "There is no stream 999999."),
        (["alice", "--minutes", "0"], "--minutes must be between 1 and"),
        (["alice", "--minutes", "-5"], "--minutes must be between 1 and"),
        (["alice", "--reason", "x" * 501], "--reason is at most 500 characters."),
    ],
)
def test_ban_refuses_bad_input_clearly(alice, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("ban", *args)
    assert not Ban.objects.exists()
    assert not ModerationAction.objects.exists()


def test_unban_lifts_the_ban_of_that_scope_only(alice, stream):
    run("ban", "alice", "--stream", str(stream.id))
    run("ban", "alice")

    out = run("unban", "alice", "--stream", str(stream.id))

    assert out.strip() == f"Lifted the stream {stream.id} ban of alice."
    assert list(Ban.objects.values_list("stream", flat=True)) == [None]
    assert ModerationAction.objects.filter(kind="unban", source="command").count() == 1


def test_unban_refuses_users_who_are_not_banned(alice, stream):
    with pytest.raises(CommandError, match=re.escape("alice has no site-wide ban to lift.")):
        call_command("unban", "alice")
    with pytest.raises(CommandError, match=re.escape("There is no user 'nobody'.")):
        call_command("unban", "nobody")
    with pytest.raises(CommandError, match=re.escape("There is no stream 424242.")):
        call_command("unban", "alice", "--stream", "424242")


def manage(*args, database=True):
    """Run manage.py as an operator would, on the test database (PostgreSQL only)."""
    env = dict(os.environ)
    if database:
        if connection.vendor != "postgresql":
            pytest.skip("a second process needs the test database on PostgreSQL (DATABASE_URL)")
        env["DATABASE_URL"] = gateways.gateway_database_url()
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=gateways.PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("command", ["ban", "unban"])
def test_commands_explain_themselves_with_help(command):
    result = manage(command, "--help", database=False)
    assert result.returncode == 0
    assert "USERNAME" in result.stdout.upper() and "--stream" in result.stdout


@pytest.mark.django_db(transaction=True)
def test_bad_input_exits_non_zero_with_the_reason(alice):
    unknown = manage("ban", "nobody")
    assert unknown.returncode != 0
    assert "There is no user 'nobody'." in unknown.stderr

    not_a_number = manage("ban", "alice", "--stream", "three")
    assert not_a_number.returncode != 0
    assert "invalid int value" in not_a_number.stderr

    assert manage("ban", "alice", "--minutes", "30").returncode == 0
    assert manage("unban", "alice").returncode == 0
    assert manage("unban", "alice").returncode != 0


def test_moderator_makes_a_user_staff_in_the_moderators_group(alice):
    assert run("moderator", "alice").strip() == (
        "alice is a moderator: made them staff and added them to the Moderators group."
    )

    alice.refresh_from_db()
    assert alice.is_staff and is_moderator(alice)
    assert alice.has_perm("comments.change_comment") and alice.has_perm("moderation.add_ban")
    assert run("moderator", "alice").strip() == "alice is a moderator: nothing to do, already one."


def test_moderator_remove_takes_them_out_of_the_group(moderator):
    out = run("moderator", "mona", "--remove")

    assert out.startswith("Removed mona from the Moderators group (still staff")
    moderator.refresh_from_db()
    assert moderator.is_staff and not is_moderator(moderator)
    with pytest.raises(CommandError, match=re.escape("mona is not in the Moderators group.")):
        call_command("moderator", "mona", "--remove")


def test_moderator_refuses_an_unknown_user():
    with pytest.raises(CommandError, match=re.escape("There is no user 'nobody'.")):
        call_command("moderator", "nobody")


@pytest.mark.django_db(transaction=True)
def test_moderator_exits_non_zero_on_an_unknown_user_and_has_help():
    unknown = manage("moderator", "nobody")
    assert unknown.returncode != 0
    assert "There is no user 'nobody'." in unknown.stderr
    help_text = manage("moderator", "--help", database=False)
    assert help_text.returncode == 0 and "--remove" in help_text.stdout
