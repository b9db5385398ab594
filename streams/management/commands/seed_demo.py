import random
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from comments import snowflake
from comments.models import Comment
from moderation.models import BlockedTerm, ModerationAction
from streams.models import Stream
from streams.services import create_stream

PASSWORD = "live-demo-2026"
VIEWERS = ["alice", "bob", "charlie", "dana"]
HOST = "hannah"
MODERATOR = "mona"
ADMIN = "admin"
STREAMS = [
    (
        "Rocket launch, live from the pad",
        "https://interactive-examples.mdn.mozilla.net/media/cc0-videos/flower.mp4",
    ),
    ("Late-night jazz session", ""),
]
LINES = [
    "Hello from Lisbon!",
    "This is amazing",
    "How long until liftoff?",
    "first time catching one live",
    "the sound is incredible",
    "Who else is watching from work?",
    "GO GO GO",
    "that camera angle 😍",
]


class Command(BaseCommand):
    help = "Create demo users (known passwords), a moderator, and live streams with comments."

    def handle(self, *args, **options):
        users = get_user_model().objects
        if Stream.objects.filter(title=STREAMS[0][0]).exists():
            self.stdout.write("Demo data is already there.")
            self._print_logins()
            return
        with transaction.atomic():
            people = {}
            for name in [*VIEWERS, HOST, MODERATOR, ADMIN]:
                user = users.filter(username=name).first() or users.create_user(name)
                user.set_password(PASSWORD)
                user.is_staff = name in (MODERATOR, ADMIN)
                user.is_superuser = name == ADMIN
                user.save()
                people[name] = user
            people[MODERATOR].groups.add(Group.objects.get(name="Moderators"))
            BlockedTerm.objects.get_or_create(term="spoiler")
            ids = snowflake.generator()
            rng = random.Random(7)
            for title, video_url in STREAMS:
                stream = create_stream(
                    title,
                    host=people[HOST],
                    video_url=video_url,
                    source=ModerationAction.Source.COMMAND,
                )
                start = timezone.now() - timedelta(minutes=10)
                comments = []
                for n in range(60):
                    author = people[rng.choice(VIEWERS)]
                    moment = start + timedelta(seconds=10 * n)
                    comments.append(
                        Comment(
                            id=ids.next_id(),
                            stream=stream,
                            author=author,
                            content=rng.choice(LINES),
                            idempotency_key=uuid.uuid4(),
                            created_at=moment,
                            received_at=moment,
                        )
                    )
                comments[-5].is_pinned = True
                comments[-5].content = "Welcome! Be kind, and keep spoilers out of chat."
                comments[-5].author = people[HOST]
                comments[-5].is_highlighted = True
                Comment.objects.bulk_create(comments)
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._print_logins()

    def _print_logins(self):
        self.stdout.write(
            f"Log in as any of {', '.join(VIEWERS)} (viewers), {HOST} (host), "
            f"{MODERATOR} (moderator) or {ADMIN} (superuser), password {PASSWORD!r}."
        )
