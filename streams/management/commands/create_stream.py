from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from moderation.models import ModerationAction
from streams.models import validate_video_url
from streams.services import create_stream


class Command(BaseCommand):
    help = "Create a live stream and print its id."

    def add_arguments(self, parser):
        parser.add_argument("title", help="the stream's title")
        parser.add_argument("--host", metavar="USERNAME", help="the user who hosts the stream")
        parser.add_argument(
            "--video-url", default="", help="the video's http(s) URL, or a path on this site"
        )

    def handle(self, *args, title, host, video_url, **options):
        title = title.strip()
        if not title:
            raise CommandError("The title cannot be empty.")
        if len(title) > 200:
            raise CommandError("The title is at most 200 characters.")
        if video_url:
            try:
                validate_video_url(video_url)
            except ValidationError as error:
                raise CommandError(error.messages[0]) from None
        host_user = None
        if host is not None:
            try:
                host_user = get_user_model().objects.get(username=host)
            except get_user_model().DoesNotExist:
                raise CommandError(f"There is no user {host!r}.") from None
        stream = create_stream(
            title, host=host_user, video_url=video_url, source=ModerationAction.Source.COMMAND
        )
        self.stdout.write(str(stream.id))
