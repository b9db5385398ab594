"""RulesGeneration, and the triggers that give it a new token whenever the rules' inputs change.

The inputs are what comments.rule_reads caches: streams, bans, blocked terms, and who
moderates (a user's active, staff and superuser flags, group membership, group names).
"""

from django.conf import settings
from django.db import migrations, models

FUNCTION = "moderation_rules_changed"


def watched(apps) -> dict[str, str]:
    """The watched tables, each with the change that can move the rules (PostgreSQL syntax)."""
    user = apps.get_model(settings.AUTH_USER_MODEL)
    every_change = "INSERT OR UPDATE OR DELETE"
    return {
        apps.get_model("streams", "Stream")._meta.db_table: every_change,
        apps.get_model("moderation", "Ban")._meta.db_table: every_change,
        apps.get_model("moderation", "BlockedTerm")._meta.db_table: every_change,
        # Not every login: last_login changes on each, and it moves no rule.
        user._meta.db_table: "INSERT OR DELETE OR UPDATE OF is_active, is_staff, is_superuser",
        user._meta.get_field("groups").remote_field.through._meta.db_table: every_change,
        apps.get_model("auth", "Group")._meta.db_table: every_change,
    }


def create_triggers(apps, schema_editor) -> None:
    generation = apps.get_model("moderation", "RulesGeneration")._meta.db_table
    tables = watched(apps)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"""
            CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {generation} (id, token)
                VALUES (1, floor(random() * 9e18)::bigint)
                ON CONFLICT (id) DO UPDATE SET token = excluded.token;
                RETURN NULL;
            END $$
            """
        )
        for table, events in tables.items():
            schema_editor.execute(
                f"CREATE TRIGGER {table}_rules_changed AFTER {events} OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            )
    else:
        # SQLite (the embedded default): row triggers, one per event.
        for table, events in tables.items():
            for event in events.split(" OR "):
                name = f"{table}_rules_changed_{event.split()[0].lower()}"
                schema_editor.execute(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                    f"INSERT OR REPLACE INTO {generation} (id, token) VALUES (1, random()); END"
                )
    schema_editor.execute(f"INSERT INTO {generation} (id, token) VALUES (1, 0)")


def drop_triggers(apps, schema_editor) -> None:
    tables = watched(apps)
    if schema_editor.connection.vendor == "postgresql":
        for table in tables:
            schema_editor.execute(f"DROP TRIGGER {table}_rules_changed ON {table}")
        schema_editor.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        for table, events in tables.items():
            for event in events.split(" OR "):
                schema_editor.execute(
                    f"DROP TRIGGER {table}_rules_changed_{event.split()[0].lower()}"
                )


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0007_blocked_term_action_match_and_hits"),
        ("streams", "0003_video_url_accepts_a_site_path"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="RulesGeneration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
