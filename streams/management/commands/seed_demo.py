import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
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
ROLES = {HOST: Comment.AuthorRole.HOST, MODERATOR: Comment.AuthorRole.MODERATOR}

# Shipped in static/ (scripts/make-demo-video remakes it), so the demo plays with no
# network. A path on this site, not a full URL: it works on whatever host and port serve
# the demo.
DEMO_VIDEO = "demo/demo-loop.webm"


def demo_video_url() -> str:
    return "/" + settings.STATIC_URL.strip("/") + "/" + DEMO_VIDEO


@dataclass(frozen=True)
class DemoStream:
    title: str
    # The host's welcome, pinned and highlighted at the top of the chat.
    welcome: str
    # The chat so far, oldest first: (username, text).
    chat: list[tuple[str, str]]


STREAMS = [
    DemoStream(
        title="Rocket launch, live from the pad",
        welcome="Welcome to the pad! Be kind, and keep spoilers out of chat.",
        chat=[
            ("alice", "Hello from Lisbon! 👋"),
            ("bob", "made it just in time"),
            ("charlie", "first time catching one live"),
            (HOST, "We're at T-minus 20 minutes, fuelling is complete"),
            ("dana", "How long until liftoff?"),
            (MODERATOR, "@dana about 20 minutes, watch the clock on the host's feed"),
            ("alice", "the sound is going to be incredible"),
            ("bob", "Who else is watching from work? 🙈"),
            ("charlie", "what's the payload on this one?"),
            (HOST, "@charlie a weather satellite, headed for a sun-synchronous orbit"),
            ("dana", "that camera angle 😍"),
            ("alice", "is that steam or fuel venting?"),
            (HOST, "@alice liquid oxygen boiling off, totally normal"),
            ("bob", "weather looks perfect"),
            ("charlie", "winds were the worry this morning, glad it cleared"),
            (MODERATOR, "Questions for the host are welcome; please no links to other streams"),
            ("dana", "T-minus 10!"),
            ("alice", "my cat is watching too"),
            ("bob", "the crowd at the fence looks huge"),
            (HOST, "Range is go, weather is go. We are GO for launch 🚀"),
            ("alice", "GO GO GO"),
            ("dana", "goosebumps"),
            ("bob", "wait, is that a hold?"),
            (HOST, "@bob short hold for a sensor reading, two minutes at most"),
            ("charlie", "they always hold at T-2 😅"),
            (MODERATOR, "Hold cleared, the countdown has resumed"),
            ("alice", "10… 9… 8…"),
            ("dana", "LIFTOFF!!!"),
            ("bob", "WOW look at it go"),
            ("charlie", "the sound just reached the camera"),
            ("alice", "max-Q in a few seconds"),
            (HOST, "Max-Q passed, the vehicle is healthy"),
            ("dana", "stage separation confirmed 👏"),
            ("bob", "I'll never get tired of this"),
            ("charlie", "thanks for streaming this, Hannah"),
            ("alice", "worth leaving work early for"),
        ],
    ),
    DemoStream(
        title="Late-night jazz session",
        welcome="Good evening, and welcome to the late set. Requests go in chat; be kind.",
        chat=[
            ("dana", "good evening everyone 🎷"),
            ("alice", "perfect thing to have on while cooking"),
            ("bob", "that bass line!"),
            (HOST, "Opening with a slow one tonight: 'Round Midnight"),
            ("charlie", "the drummer's brushwork is so subtle"),
            (MODERATOR, "Welcome in! Requests are welcome, one per person please"),
            ("alice", "Request: Blue in Green?"),
            (HOST, "@alice on the list for the second half"),
            ("dana", "this piano voicing 😮‍💨"),
            ("bob", "whose trumpet is that? sounds vintage"),
            (HOST, "@bob a 1962 Martin Committee, borrowed from a friend"),
            ("charlie", "the room sounds so warm"),
            ("alice", "listening from Montreal, it's snowing here ❄️"),
            ("dana", "Kyoto here, morning coffee with jazz ☕"),
            ("bob", "that solo went somewhere else entirely"),
            ("charlie", "love how they trade fours"),
            (MODERATOR, "The tip jar is in the stream description; please no payment links"),
            ("alice", "the quiet bits are my favourite"),
            (HOST, "Next up, something a little faster"),
            ("dana", "oh this groove"),
            ("bob", "the bassist is smiling the whole time"),
            ("charlie", "is this an original?"),
            (HOST, "@charlie yes! It's called Last Tram Home, written this spring"),
            ("alice", "Last Tram Home is the perfect name for this"),
            ("dana", "need this on a record"),
            ("bob", "👏👏👏"),
            (MODERATOR, "@dana a live recording is coming out later this year"),
            ("charlie", "Blue in Green now, thank you for taking the request"),
            ("alice", "🥹 thank you"),
            (HOST, "Taking a five-minute break, stay with us"),
            ("dana", "refilling my tea in the meantime"),
            ("bob", "best hour of my week"),
            ("charlie", "same time next Friday?"),
            (HOST, "@charlie same time next Friday 🎶"),
        ],
    ),
]


class Command(BaseCommand):
    help = "Create demo users (known passwords), a moderator, and live streams with comments."

    def handle(self, *args, **options):
        users = get_user_model().objects
        titles = [demo.title for demo in STREAMS]
        if Stream.objects.filter(title=titles[0]).exists():
            # Demo databases made before the video was shipped point at another site.
            Stream.objects.filter(title__in=titles).exclude(video_url=demo_video_url()).update(
                video_url=demo_video_url()
            )
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
            comments = []
            for demo in STREAMS:
                stream = create_stream(
                    demo.title,
                    host=people[HOST],
                    video_url=demo_video_url(),
                    source=ModerationAction.Source.COMMAND,
                )
                lines = [(HOST, demo.welcome), *demo.chat]
                # A line every 10 to 25 seconds, the last one half a minute ago.
                gaps = [rng.randint(10, 25) for _ in lines]
                moment = timezone.now() - timedelta(seconds=30 + sum(gaps))
                for n, ((name, text), gap) in enumerate(zip(lines, gaps, strict=True)):
                    moment += timedelta(seconds=gap)
                    comments.append(
                        Comment(
                            id=ids.next_id(),
                            stream=stream,
                            author=people[name],
                            content=text,
                            idempotency_key=uuid.uuid4(),
                            created_at=moment,
                            received_at=moment,
                            author_role=ROLES.get(name, Comment.AuthorRole.VIEWER),
                            # As posted live: the host's and moderators' comments stand out.
                            is_highlighted=name in ROLES,
                            is_pinned=n == 0,
                        )
                    )
            Comment.objects.bulk_create(comments)
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._print_logins()

    def _print_logins(self):
        self.stdout.write(
            f"Log in as any of {', '.join(VIEWERS)} (viewers), {HOST} (host), "
            f"{MODERATOR} (moderator) or {ADMIN} (superuser), password {PASSWORD!r}."
        )
