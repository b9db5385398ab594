from django.contrib.auth.management import create_permissions
from django.db import migrations

# Exactly what moderating needs: change comments (pin, highlight, hide), manage bans and
# blocked terms, end streams and set slow mode, and read the moderation log.
MODERATOR_PERMISSIONS = [
    ("comments", "view_comment"),
    ("comments", "change_comment"),
    ("streams", "view_stream"),
    ("streams", "change_stream"),
    ("moderation", "view_ban"),
    ("moderation", "add_ban"),
    ("moderation", "change_ban"),
    ("moderation", "delete_ban"),
    ("moderation", "view_blockedterm"),
    ("moderation", "add_blockedterm"),
    ("moderation", "change_blockedterm"),
    ("moderation", "delete_blockedterm"),
    ("moderation", "view_moderationaction"),
]


def create_group(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    for app_label, codename in MODERATOR_PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Moderators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0001_initial"),
        ("comments", "0001_initial"),
        ("streams", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
