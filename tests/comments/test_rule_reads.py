"""The writer keeps what its rules read between flushes, and forgets it the moment it changes.

Each test posts once so the writer has read (and kept) the rules, changes one of their
inputs the way the product or an operator would, and posts (or edits) again: the second
post must see the change, as it did when every flush read the tables. Edits read the same
kept rules (comments.edits).
"""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comments import rule_reads
from comments.edits import Edited, edit_comment
from comments.models import Comment
from comments.writer import Stored, store_posts
from livecomments.errors import Banned, ContentViolation, Restricted, StreamNotFound
from moderation.models import Ban, BlockedTerm, RulesGeneration
from moderation.selectors import MODERATORS_GROUP
from streams.models import Stream
from tests.gateways import PROJECT_ROOT
from tests.posts import writer_post

pytestmark = pytest.mark.django_db

RULE_TABLES = ("streams_stream", "moderation_ban", "moderation_blockedterm", "auth_user")


def outcome(user, stream_id, content="hello"):
    [result] = store_posts([writer_post(user, stream_id, content)])
    return result


def token():
    return RulesGeneration.objects.get(id=1).token


def test_an_unchanged_token_reads_no_rule_table(alice, stream):
    assert isinstance(outcome(alice, stream.id), Stored)
    with CaptureQueriesContext(connection) as queries:
        assert isinstance(outcome(alice, stream.id), Stored)
    read = [q["sql"] for q in queries if any(table in q["sql"] for table in RULE_TABLES)]
    assert read == []


def test_a_flush_under_an_unchanged_token_is_one_statement(alice, bob, stream):
    """The token's check, the keys' claims and the rows: one round trip (comments.storing)."""
    assert isinstance(outcome(alice, stream.id), Stored)
    assert isinstance(outcome(bob, stream.id), Stored)  # bob's bans and role read and kept
    with CaptureQueriesContext(connection) as queries:
        outcomes = store_posts([writer_post(alice, stream.id), writer_post(bob, stream.id)])
    assert len(queries) == 1
    ids = [result.comment_id for result in outcomes if isinstance(result, Stored)]
    assert Comment.objects.filter(id__in=ids).count() == 2


def test_a_rule_changed_since_the_kept_reads_stores_nothing_before_deciding_again(alice, stream):
    """The flush decides with the kept rules (no ban), its statement finds another token
    and stores nothing; decided again under the new token, the post is refused."""
    assert isinstance(outcome(alice, stream.id), Stored)
    Ban.objects.create(user=alice, stream=stream)
    stored_before = Comment.objects.count()
    assert isinstance(outcome(alice, stream.id), Banned)
    assert Comment.objects.count() == stored_before


def test_the_kept_reads_start_over_past_their_bound(alice, bob, stream, monkeypatch):
    monkeypatch.setattr(rule_reads, "MAX_AUTHORS", 1)
    for author in (alice, bob):  # two authors' bans kept: past the bound
        assert isinstance(outcome(author, stream.id), Stored)
    with CaptureQueriesContext(connection) as queries:
        assert isinstance(outcome(alice, stream.id), Stored)
    assert any("moderation_ban" in q["sql"] for q in queries)


def test_an_edit_under_an_unchanged_token_reads_no_rule_table(alice, stream):
    stored = outcome(alice, stream.id)
    assert isinstance(stored, Stored)
    with CaptureQueriesContext(connection) as queries:
        edited = edit_comment(alice.id, stream.id, stored.comment_id, "hello again")
    assert edited == Edited(stored.comment_id, held=False)
    # The comment's own row is read with its author; no rule's table is.
    rules = [q["sql"] for q in queries if "comments_comment" not in q["sql"]]
    assert [sql for sql in rules if any(table in sql for table in RULE_TABLES)] == []


def test_an_edit_sees_a_ban_and_a_blocked_term_made_since_the_rules_were_kept(alice, stream):
    stored = outcome(alice, stream.id)
    assert isinstance(stored, Stored)
    BlockedTerm.objects.create(term="spoiler")
    with pytest.raises(ContentViolation):
        edit_comment(alice.id, stream.id, stored.comment_id, "a spoiler")
    Ban.objects.create(user=alice, stream=stream)
    with pytest.raises(Banned):
        edit_comment(alice.id, stream.id, stored.comment_id, "hello again")


def test_a_ban_and_its_lifting_apply_to_the_next_post(alice, stream):
    assert isinstance(outcome(alice, stream.id), Stored)
    ban = Ban.objects.create(user=alice, stream=stream)
    assert isinstance(outcome(alice, stream.id), Banned)
    ban.delete()
    assert isinstance(outcome(alice, stream.id), Stored)


def test_a_site_wide_ban_applies_on_every_stream(alice, stream, host):
    other = Stream.objects.create(title="Other", host=host)
    assert isinstance(outcome(alice, other.id), Stored)
    Ban.objects.create(user=alice, stream=None)
    assert isinstance(outcome(alice, stream.id), Banned)
    assert isinstance(outcome(alice, other.id), Banned)


def test_a_timeout_kept_in_memory_still_runs_out(alice, stream):
    Ban.objects.create(user=alice, stream=stream, expires_at=timezone.now() + timedelta(seconds=1))
    assert isinstance(outcome(alice, stream.id), Banned)
    time.sleep(1.1)  # nothing in the tables changes: only the clock
    assert isinstance(outcome(alice, stream.id), Stored)


def test_a_blocked_term_applies_to_the_next_post(alice, stream):
    assert isinstance(outcome(alice, stream.id, "spoiler alert"), Stored)
    term = BlockedTerm.objects.create(term="spoiler")
    assert isinstance(outcome(alice, stream.id, "spoiler alert"), ContentViolation)
    term.delete()
    assert isinstance(outcome(alice, stream.id, "spoiler alert"), Stored)


def test_stream_changes_apply_to_the_next_post(alice, stream):
    assert isinstance(outcome(alice, stream.id), Stored)
    Stream.objects.filter(id=stream.id).update(locked=True)  # no save(): still seen
    assert isinstance(outcome(alice, stream.id), Restricted)
    Stream.objects.filter(id=stream.id).delete()
    assert isinstance(outcome(alice, stream.id), StreamNotFound)


def test_who_moderates_applies_to_the_next_post(alice, stream):
    def role():
        result = outcome(alice, stream.id)
        assert isinstance(result, Stored)
        return Comment.objects.get(id=result.comment_id).author_role

    assert role() == Comment.AuthorRole.VIEWER
    alice.is_staff = True
    alice.save()
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    alice.groups.add(group)
    assert role() == Comment.AuthorRole.MODERATOR
    alice.groups.remove(group)
    assert role() == Comment.AuthorRole.VIEWER
    alice.groups.add(group)
    alice.is_active = False  # a deactivated moderator moderates no more
    alice.save(update_fields=["is_active"])
    assert role() == Comment.AuthorRole.VIEWER


def test_a_login_leaves_the_token_alone(alice):
    before = token()
    alice.last_login = timezone.now()
    alice.save(update_fields=["last_login"])
    assert token() == before
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    assert token() != before


def test_sqlite_triggers_change_the_token_too(tmp_path):
    """The embedded default keeps the same cache, so its triggers must do the same."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "", "PATH": ""}
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "-v0"], cwd=PROJECT_ROOT, env=env, check=True)
    script = """
from django.contrib.auth.models import User
from django.utils import timezone
from moderation.models import Ban, RulesGeneration
def token():
    return RulesGeneration.objects.get(id=1).token
tokens = [token()]
user = User.objects.create_user("sam")
tokens.append(token())
user.last_login = timezone.now()
user.save(update_fields=["last_login"])
tokens.append(token())
Ban.objects.create(user=user)
tokens.append(token())
print(tokens[0] != tokens[1], tokens[1] == tokens[2], tokens[2] != tokens[3])
"""
    shell = [*run, "shell", "--no-imports", "-c", script]
    done = subprocess.run(shell, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
    assert done.stdout.split()[-3:] == [b"True", b"True", b"True"]


def test_sqlite_stores_in_a_transaction_under_the_same_token_check(tmp_path):
    """The embedded default's flush: a post stored, its retry given the same comment, a ban
    made since the rules were kept applied to the next post."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "", "PATH": ""}
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "-v0"], cwd=PROJECT_ROOT, env=env, check=True)
    script = """
import uuid
from django.contrib.auth.models import User
from comments.models import Comment
from comments.writer import Stored, store_posts
from livecomments.errors import Banned
from moderation.models import Ban
from streams.models import Stream
from tests.posts import writer_post
host, sam = User.objects.create_user("host"), User.objects.create_user("sam")
stream = Stream.objects.create(title="Embedded", host=host)
def post(key):
    return writer_post(sam, stream.id, "hello", key=key)
key = str(uuid.uuid4())
first, twin = store_posts([post(key), post(key)])
[retry] = store_posts([post(key)])
Ban.objects.create(user=sam, stream=stream)
[banned] = store_posts([post(str(uuid.uuid4()))])
print(isinstance(first, Stored) and first.comment is not None, twin.comment_id == first.comment_id,
      retry.comment_id == first.comment_id and retry.comment is None,
      isinstance(banned, Banned), Comment.objects.count() == 1)
"""
    shell = [*run, "shell", "--no-imports", "-c", script]
    done = subprocess.run(shell, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
    assert done.stdout.split()[-5:] == [b"True"] * 5
