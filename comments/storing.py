"""How a flush's new comments reach the database, once the rules have passed them.

`store_rows` claims each row's (author, idempotency key) and inserts the rows whose claim
took, only if the rules' token is still the one the flush decided under (rule_reads).
On PostgreSQL that is one statement, so one round trip and atomic without a transaction
of its own: the token read, the claims and the inserts share one snapshot. The rows go
as one JSON document, which costs the gateway one encode instead of Django and psycopg
preparing every value (a flush's CPU in the writer thread: docs/performance.md). The
writer sends it on its event loop's own connection when nothing else of the flush needs
the database (LoopConnection). Other databases (SQLite, the embedded default) take three
statements in a transaction.
"""

from collections.abc import Iterable
from functools import cache
from typing import Any, cast

import orjson
import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Field

from . import rule_reads
from .models import Comment, CommentKey

Owners = dict[tuple[int, str], int]

_FIELDS = Comment._meta.concrete_fields
# What a key's claim writes, in this order, on both paths.
_KEY_COLUMNS = "(comment_id, author_id, idempotency_key)"


def key_of(row: Comment) -> tuple[int, str]:
    return row.author_id, str(row.idempotency_key)


def store_rows(rows: Iterable[Comment], token: int | None) -> tuple[int | None, Owners]:
    """Store the rows under the rules of `token`: (the token now, which comment owns each key).

    If the token has changed, nothing is stored and the owners are empty: the caller
    decides again under the new token. A key claimed before keeps its first comment.
    """
    rows = list(rows)
    if connection.vendor == "postgresql":
        token_now, claimed = _store_in_one_statement(rows, token)
    else:
        with transaction.atomic():
            token_now = rule_reads.read_token()
            claimed = _claim_keys(rows) if token_now == token else set()
            Comment.objects.bulk_create(row for row in rows if row.id in claimed)
    if token_now != token:
        return token_now, {}
    return token_now, owners(rows, claimed)


def _store_in_one_statement(rows: list[Comment], token: int | None) -> tuple[int | None, set[int]]:
    with connection.cursor() as cursor:
        cursor.execute(_statement(), _parameters(rows, token))
        token_now, claimed = cursor.fetchone()
    return token_now, set(claimed)


class LoopConnection:
    """An event loop's own PostgreSQL connection, for `store_rows`'s one statement.

    Through Django's connection the statement costs a hop to the database thread and back
    and a checkout of the pool: more CPU than the round trip itself on the loop
    (`manage.py round_trip_bench`, docs/performance.md). Only the writer uses it, for a
    flush that needs nothing else of the database (comments.writer).
    """

    # How pg_stat_activity names it.
    APPLICATION_NAME = "livecomments writer"

    def __init__(self) -> None:
        self._connection: psycopg.AsyncConnection[Any] | None = None

    async def store_rows(
        self, rows: list[Comment], token: int | None
    ) -> tuple[int | None, set[int]]:
        """Store the rows under the rules of `token`: (the token now, the ids of the rows
        whose claim took). Nothing is stored if the token has changed."""
        if self._connection is None:
            self._connection = await connect_on_loop(
                application_name=self.APPLICATION_NAME,
                # While PostgreSQL is unreachable, a flush gives up as soon as Django's pool
                # would (DATABASE_POOL_TIMEOUT), not after the kernel's TCP timeout.
                connect_timeout=connection.settings_dict["OPTIONS"]["pool"]["timeout"],
            )
        try:
            cursor = await self._connection.execute(_statement(), _parameters(rows, token))
            token_now, claimed = cast(tuple[int | None, list[int]], await cursor.fetchone())
        except BaseException:
            # Broken, or cancelled mid-statement: its state is unknown, so the next flush
            # connects anew.
            await self.close()
            raise
        return token_now, set(claimed)

    async def close(self) -> None:
        closing, self._connection = self._connection, None
        if closing is not None:
            await closing.close()


async def connect_on_loop(
    alias: str = DEFAULT_DB_ALIAS, **options: Any
) -> psycopg.AsyncConnection[Any]:
    """A connection of the calling event loop, with what Django's own connect with, and
    `options` (libpq's) on top."""
    parameters = connections[alias].get_connection_params()
    del parameters["cursor_factory"]  # Django's cursors are synchronous
    return await psycopg.AsyncConnection.connect(**parameters, **options, autocommit=True)


def _parameters(rows: list[Comment], token: int | None) -> list[Any]:
    document = orjson.dumps(
        [{field.column: getattr(row, field.attname) for field in _FIELDS} for row in rows]
    )
    return [document.decode(), token]


def _column(field: "Field[Any, Any]") -> str:
    assert field.column is not None  # every concrete field has one
    return connection.ops.quote_name(field.column)


@cache
def _statement() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(_column(field) for field in _FIELDS)
    definitions = ", ".join(f"{_column(f)} {f.db_type(connection)}" for f in _FIELDS)
    comment_id = _column(Comment._meta.get_field("id"))
    author_id = _column(Comment._meta.get_field("author"))
    key = _column(Comment._meta.get_field("idempotency_key"))
    # The claims insert nothing under another token, and a row goes in only if its claim
    # took: two gateways claiming one key, the unique index makes the second wait for the
    # first's commit, then skip.
    return f"""
        WITH rules AS (SELECT token FROM {quote(rule_reads.TOKEN_TABLE)} WHERE id = 1),
        new_rows AS (SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r({definitions})),
        claimed AS (
            INSERT INTO {quote(CommentKey._meta.db_table)} {_KEY_COLUMNS}
            SELECT {comment_id}, {author_id}, {key} FROM new_rows
            WHERE (SELECT token FROM rules) IS NOT DISTINCT FROM %s
            ON CONFLICT DO NOTHING
            RETURNING comment_id
        ),
        stored AS (
            INSERT INTO {quote(Comment._meta.db_table)} ({columns})
            SELECT {columns} FROM new_rows WHERE {comment_id} IN (SELECT comment_id FROM claimed)
        )
        SELECT (SELECT token FROM rules), ARRAY(SELECT comment_id FROM claimed)
    """


def _claim_keys(rows: list[Comment]) -> set[int]:
    """Claim each row's key for it; return the ids of the rows whose claim took."""
    if not rows:
        return set()
    key_field = CommentKey._meta.get_field("idempotency_key")
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    # One statement that says which claims took: the ORM's bulk_create cannot return that
    # with ignore_conflicts.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(CommentKey._meta.db_table)} "
            f"{_KEY_COLUMNS} "
            f"VALUES {values} ON CONFLICT DO NOTHING RETURNING comment_id",
            [
                value
                for row in rows
                for value in (
                    row.id,
                    row.author_id,
                    key_field.get_db_prep_value(row.idempotency_key, connection),
                )
            ],
        )
        return {comment_id for (comment_id,) in cursor.fetchall()}


def owners(rows: list[Comment], claimed: set[int]) -> Owners:
    """Which comment owns each row's key; reads the database only for keys not claimed."""
    found = {key_of(row): row.id for row in rows if row.id in claimed}
    taken = [row.idempotency_key for row in rows if row.id not in claimed]
    if taken:
        # Keys stored before, or twice in this flush: their first comment keeps them.
        found.update(
            ((author_id, str(key)), comment_id)
            for author_id, key, comment_id in CommentKey.objects.filter(
                idempotency_key__in=taken
            ).values_list("author_id", "idempotency_key", "comment_id")
        )
    return found
