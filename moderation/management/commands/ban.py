from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from moderation.models import ModerationAction
from moderation.services import ban_user
from streams.models import Stream

MAX_MINUTES = 60 * 24 * 366


class Command(BaseCommand):
    help = (
        "Ban a user from a stream, or site-wide without --stream. With --minutes the ban "
        "is a timeout that ends by itself. Their open sockets are told at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="the user to ban")
        parser.add_argument("--stream", type=int, metavar="ID", help="ban from this stream only")
        parser.add_argument(
            "--minutes", type=int, metavar="N", help="a timeout: the ban ends after N minutes"
        )
        parser.add_argument("--reason", default="", help="why, for the moderation log")
        parser.add_argument(
            "--remove-comments",
            action="store_true",
            help="hide their comments (on the stream, or everywhere) from every viewer",
        )

    def handle(self, *args, username, stream, minutes, reason, remove_comments, **options):
        user = find_user(username)
        target = find_stream(stream)
        if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
            raise CommandError(f"--minutes must be between 1 and {MAX_MINUTES}.")
        if len(reason) > 500:
            raise CommandError("--reason is at most 500 characters.")
        expires_at = timezone.now() + timedelta(minutes=minutes) if minutes else None
        ban_user(
            user,
            stream=target,
            expires_at=expires_at,
            reason=reason,
            remove_comments=remove_comments,
            source=ModerationAction.Source.COMMAND,
        )
        where = f"stream {target.id} ({target.title})" if target else "every stream"
        how_long = f" for {minutes} minutes" if minutes else ""
        self.stdout.write(f"Banned {user.username} from {where}{how_long}.")


def find_user(username: str):
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"There is no user {username!r}.") from None


def find_stream(stream_id: int | None):
    if stream_id is None:
        return None
    try:
        return Stream.objects.get(id=stream_id)
    except Stream.DoesNotExist:
        raise CommandError(f"There is no stream {stream_id}.") from None
