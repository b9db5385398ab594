"""Idempotency keys move to a table of their own (CommentKey), before 0008 partitions the
comments table: a partitioned table's unique constraints must include its partition key."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def copy_keys(apps, schema_editor):
    """Give every stored comment its key row, so keys posted before this stay unique."""
    Comment = apps.get_model("comments", "Comment")
    table = Comment._meta.db_table
    key_table = apps.get_model("comments", "CommentKey")._meta.db_table
    # One statement, whatever the table's size: rows never pass through Python.
    schema_editor.execute(
        f"INSERT INTO {key_table} (comment_id, author_id, idempotency_key)"
        f" SELECT id, author_id, idempotency_key FROM {table}"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0006_reaction_seconds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CommentKey",
            fields=[
                (
                    "comment",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="key",
                        serialize=False,
                        to="comments.comment",
                    ),
                ),
                ("idempotency_key", models.UUIDField()),
                (
                    "author",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="commentkey",
            constraint=models.UniqueConstraint(
                fields=("idempotency_key", "author"), name="comment_key_unique_per_author"
            ),
        ),
        # The old constraint guarantees the copy has no duplicate (author, key).
        migrations.RunPython(copy_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="comment",
            name="comment_unique_idempotency_key",
        ),
    ]
