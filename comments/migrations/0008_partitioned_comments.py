"""On PostgreSQL, rebuild comments_comment as a table partitioned by week of id
(comments.partitions); on SQLite nothing changes.

The rows are copied inside the migration's transaction: on a large table, run it in a
maintenance window (docs/operations.md). Every index, constraint and foreign key keeps its
name, so later migrations find them as Django made them.
"""

from django.db import migrations
from django.utils import timezone

from comments import partitions

TABLE = partitions.TABLE


def _definitions(cursor):
    """The table's own constraints and indexes, and the foreign keys pointing at it.

    Only those declared on the table itself (conparentid = 0): a partitioned table's
    partitions carry copies of them, which go and come with the partitions.
    """
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND conparentid = 0 ORDER BY contype <> 'p'",
        [TABLE],
    )
    own = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i"
        " ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        [TABLE],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE confrelid = %s::regclass AND conrelid <> confrelid AND conparentid = 0",
        [TABLE],
    )
    inbound = cursor.fetchall()
    return own, indexes, inbound


def _rebuild(schema_editor, partitioned: bool) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or partitions.is_partitioned(connection) == partitioned:
        return
    with connection.cursor() as cursor:
        own, indexes, inbound = _definitions(cursor)
        for table, name, _ in inbound:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        new = f"{TABLE}_rebuilt"
        cursor.execute(
            f'CREATE TABLE "{new}" (LIKE "{TABLE}" INCLUDING DEFAULTS)'
            + (" PARTITION BY RANGE (id)" if partitioned else "")
        )
        cursor.execute(f'SELECT min(id) FROM "{TABLE}"')
        oldest = cursor.fetchone()[0]
        cursor.execute(f'ALTER TABLE "{new}" RENAME TO "{TABLE}_copying"')
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{new}"')
        cursor.execute(f'ALTER TABLE "{TABLE}_copying" RENAME TO "{TABLE}"')
        if partitioned:
            now = timezone.now()
            first = partitions.Week.of(now)
            if oldest is not None:
                first = min(first, partitions.Week.of_id(oldest), key=lambda w: w.start)
            cursor.execute(
                f'CREATE TABLE "{partitions.BEFORE}" PARTITION OF "{TABLE}"'
                f" FOR VALUES FROM (MINVALUE) TO ({first.first_id})"
            )
            for week in partitions.weeks_between(first, partitions.Week.of(now)):
                partitions.create(week, connection)
            partitions.create_ahead(partitions.DEFAULT_AHEAD, now, connection)
        cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{new}"')
        cursor.execute(f'DROP TABLE "{new}"')
        for name, definition, _ in own:
            cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in inbound:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def partition(apps, schema_editor):
    _rebuild(schema_editor, partitioned=True)


def unpartition(apps, schema_editor):
    _rebuild(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0007_comment_keys"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
