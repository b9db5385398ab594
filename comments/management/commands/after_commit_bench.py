"""manage.py after_commit_bench: CPU of a gateway's after-commit work per flush."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from loadbench.after_commit import report


class Command(BaseCommand):
    help = (
        "Run the gateway's after-commit work (remember the keys, append to the "
        "recent-comments cache, publish, mark published) in process for flushes of each "
        "size, and print the process CPU per flush. Needs REDIS_URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sizes", default="1,4,16", help="posts a flush (1,4,16)")
        parser.add_argument("--flushes", type=int, default=500)
        parser.add_argument("--rounds", type=int, default=5)

    def handle(self, *args, sizes, flushes, rounds, **options):
        if not settings.REDIS_URL:
            raise CommandError("needs REDIS_URL: without Redis there is no after-commit work")
        try:
            counts = [int(size) for size in sizes.split(",")]
        except ValueError:
            raise CommandError("--sizes takes a comma-separated list of counts") from None
        if min(counts) < 1 or flushes < 1 or rounds < 1:
            raise CommandError("--sizes, --flushes and --rounds take counts of at least 1")
        self.stdout.write(report(counts, flushes, rounds))
