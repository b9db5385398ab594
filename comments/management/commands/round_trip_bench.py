"""manage.py round_trip_bench: CPU of a round trip to PostgreSQL and Redis after a gap."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from loadbench.arguments import comma_separated
from loadbench.round_trips import report


class Command(BaseCommand):
    help = (
        "Time one round trip to PostgreSQL (SELECT 1) and to Redis (PING) after each quiet "
        "gap: process CPU and wall time, medians. Shows what a round trip costs this "
        "machine when its peer has been idle, as between a gateway's flushes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--gaps-ms",
            type=comma_separated(float, lambda gap: gap >= 0, "milliseconds, no negative gap"),
            default=[0, 1, 5, 10, 25],
            help="quiet gaps (ms) to try, comma-separated",
        )
        parser.add_argument("--trips", type=int, default=300, help="round trips per gap")

    def handle(self, *args, gaps_ms, trips, **options):
        if trips < 1:
            raise CommandError("--trips takes a count of at least 1")
        self.stdout.write(report(gaps_ms, trips, with_redis=bool(settings.REDIS_URL)))
