from django.core.management.base import BaseCommand, CommandError

from moderation.models import ModerationAction
from streams.models import Stream
from streams.services import end_stream


class Command(BaseCommand):
    help = "End a live stream; its viewers are told at once."

    def add_arguments(self, parser):
        parser.add_argument("stream_id", type=int, help="the stream's id")
        parser.add_argument("--reason", default="", help="why, for the moderation log")

    def handle(self, *args, stream_id, reason, **options):
        try:
            stream = Stream.objects.get(id=stream_id)
        except Stream.DoesNotExist:
            raise CommandError(f"There is no stream {stream_id}.") from None
        if not stream.is_live:
            raise CommandError(f"Stream {stream_id} has already ended.")
        end_stream(stream_id, reason=reason, source=ModerationAction.Source.COMMAND)
        self.stdout.write(f"Ended stream {stream_id} ({stream.title}).")
