"""manage.py after_commit_bench: CPU of a gateway's after-commit work per flush."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from loadbench.after_commit import report
from loadbench.arguments import comma_separated


class Command(BaseCommand):
    help = (
        "Run the gateway's after-commit work (remember the keys, append to the "
        "recent-comments cache, publish, mark published) in process for flushes of each "
        "size, and print the process CPU per flush. Needs REDIS_URL."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sizes",
            type=comma_separated(int, lambda size: size >= 1, "counts of at least 1"),
            default=[1, 4, 16],
            help="posts a flush, comma-separated (1,4,16)",
        )
        parser.add_argument("--flushes", type=int, default=500)
        parser.add_argument("--rounds", type=int, default=5)

    def handle(self, *args, sizes, flushes, rounds, **options):
        if not settings.REDIS_URL:
            raise CommandError("needs REDIS_URL: without Redis there is no after-commit work")
        if flushes < 1 or rounds < 1:
            raise CommandError("--flushes and --rounds take counts of at least 1")
        self.stdout.write(report(sizes, flushes, rounds))
