from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from moderation.selectors import MODERATORS_GROUP

from .ban import find_user


class Command(BaseCommand):
    help = (
        f"Make a user a moderator: staff, in the {MODERATORS_GROUP} group (whose permissions "
        "are just what moderating needs). With --remove, take them out of the group."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="the user")
        parser.add_argument(
            "--remove",
            action="store_true",
            help=f"remove them from the {MODERATORS_GROUP} group (they stay staff)",
        )

    def handle(self, *args, username, remove, **options):
        user = find_user(username)
        try:
            group = Group.objects.get(name=MODERATORS_GROUP)
        except Group.DoesNotExist:
            # Created with its permissions by a migration; an empty stand-in would make
            # moderators who can do nothing.
            raise CommandError(
                f"There is no {MODERATORS_GROUP} group: run manage.py migrate."
            ) from None
        member = user.groups.filter(id=group.id).exists()
        if remove:
            if not member:
                raise CommandError(f"{user.username} is not in the {MODERATORS_GROUP} group.")
            user.groups.remove(group)
            self.stdout.write(
                f"Removed {user.username} from the {MODERATORS_GROUP} group "
                "(still staff: clear that on their user page if they need no admin at all)."
            )
            return
        done = []
        with transaction.atomic():
            if not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
                done.append("made them staff")
            if not member:
                user.groups.add(group)
                done.append(f"added them to the {MODERATORS_GROUP} group")
        what = " and ".join(done) if done else "nothing to do, already one"
        self.stdout.write(f"{user.username} is a moderator: {what}.")
