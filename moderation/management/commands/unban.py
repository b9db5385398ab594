from django.core.management.base import BaseCommand, CommandError

from moderation.models import ModerationAction
from moderation.services import unban_user

from .ban import find_stream, find_user


class Command(BaseCommand):
    help = (
        "Lift a user's ban from a stream, or their site-wide ban without --stream. Their "
        "open sockets are told at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="the banned user")
        parser.add_argument("--stream", type=int, metavar="ID", help="the stream of the ban")
        parser.add_argument("--reason", default="", help="why, for the moderation log")

    def handle(self, *args, username, stream, reason, **options):
        user = find_user(username)
        target = find_stream(stream)
        where = f"stream {target.id}" if target else "site-wide"
        if not unban_user(
            user, stream=target, reason=reason, source=ModerationAction.Source.COMMAND
        ):
            raise CommandError(f"{user.username} has no {where} ban to lift.")
        self.stdout.write(f"Lifted the {where} ban of {user.username}.")
