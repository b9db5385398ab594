"""The rows a scenario needs, made through the ORM: one fresh stream, posting users, tokens."""

import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from rest_framework.authtoken.models import Token

from comments.models import Comment
from comments.snowflake import MAX_WORKER, SEQUENCE_BITS, first_id_at
from streams.models import Stream

USERNAME_PREFIX = "loadbench-poster-"


def database_is_migrated() -> bool:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


def database_url() -> str:
    """The URL of the database this process writes to, for the gateways to read the same rows.

    Built from the live connection settings rather than DATABASE_URL, because under a test
    runner the ORM has been pointed at the test database.
    """
    settings = connections[DEFAULT_DB_ALIAS].settings_dict
    engine = settings["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    if not engine.endswith("postgresql"):
        raise ValueError(f"the benchmark does not know how to hand {engine} to a gateway")
    auth = settings["USER"] or ""
    if settings["PASSWORD"]:
        auth += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "127.0.0.1"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{settings['NAME']}"


def create_stream(title: str, **settings) -> int:
    return Stream.objects.create(title=title, **settings).pk


def add_history(stream_id: int, count: int) -> None:
    """Give the stream `count` comments of the last minute, as if it had been busy."""
    if not count:
        return
    user_model = get_user_model()
    author, created = user_model.objects.get_or_create(username=f"{USERNAME_PREFIX}history")
    if created:
        author.set_unusable_password()
        author.save()
    now = timezone.now()
    first_ms = int(now.timestamp() * 1000) - 60_000
    # A worker number no gateway takes while the benchmark runs: ids never collide.
    worker_bits = MAX_WORKER << SEQUENCE_BITS
    Comment.objects.bulk_create(
        [
            Comment(
                id=first_id_at(first_ms + n) | worker_bits,
                stream_id=stream_id,
                author=author,
                content=f"an earlier line of chat, number {n}",
                idempotency_key=uuid.uuid4(),
                created_at=now - timedelta(milliseconds=60_000 - n),
                received_at=now - timedelta(milliseconds=60_000 - n),
            )
            for n in range(count)
        ],
        batch_size=1000,
    )


def delete_streams(stream_ids: set[int]) -> None:
    Stream.objects.filter(pk__in=stream_ids).delete()


def stored_comments(stream_id: int) -> int:
    """Rows of the stream's comments in the database: what an accepted ack promised."""
    return Comment.objects.filter(stream_id=stream_id).count()


def held_comments(stream_id: int) -> int:
    return Comment.objects.filter(stream_id=stream_id, review=Comment.Review.HELD).count()


def poster_tokens(count: int) -> list[str]:
    """Return token keys of `count` posting users, creating the users that are missing.

    Users are reused between runs (they have no password), so a long sweep does not
    grow the user table by thousands of rows per scenario.
    """
    user_model = get_user_model()
    names = [f"{USERNAME_PREFIX}{n}" for n in range(count)]
    existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    missing = []
    for name in names:
        if name not in existing:
            user = user_model(username=name)
            user.set_unusable_password()
            missing.append(user)
    user_model.objects.bulk_create(missing)
    users = list(user_model.objects.filter(username__in=names).order_by("id"))
    tokens = {t.user_id: t.key for t in Token.objects.filter(user__in=users)}
    new_tokens = [
        Token(user=user, key=Token.generate_key()) for user in users if user.pk not in tokens
    ]
    Token.objects.bulk_create(new_tokens)
    tokens.update({t.user_id: t.key for t in new_tokens})
    return [tokens[user.pk] for user in users]
