"""manage.py backfill_bench: CPU of a fresh join's backfill read from a full cache."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from loadbench.backfill_read import report


class Command(BaseCommand):
    help = (
        "Fill a stream's recent-comments cache to its bound and time a fresh join's "
        "backfill read in process, with the cache unchanged between joins and with a "
        "flush between each two; print the process CPU per read. Needs REDIS_URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--joins", type=int, default=300)
        parser.add_argument("--rounds", type=int, default=5)

    def handle(self, *args, joins, rounds, **options):
        if not settings.REDIS_URL:
            raise CommandError("needs REDIS_URL: the in-memory cache has nothing to read")
        if joins < 1 or rounds < 1:
            raise CommandError("--joins and --rounds take counts of at least 1")
        self.stdout.write(report(joins, rounds))
