"""Create the comments table's weekly partitions ahead of time; run it daily from cron."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from comments import partitions


class Command(BaseCommand):
    help = (
        "Create this week's comments partition and the next --ahead weeks' (PostgreSQL). "
        "A post whose week has no partition is refused, and a gateway will not start "
        "without this week's."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--ahead",
            type=int,
            default=partitions.DEFAULT_AHEAD,
            help=f"weeks to create beyond this one (default {partitions.DEFAULT_AHEAD})",
        )

    def handle(self, *args, ahead, **options):
        if ahead < 0:
            raise CommandError("--ahead must be 0 or more weeks.")
        if not partitions.is_partitioned(connection):
            self.stdout.write(
                f"The comments table is not partitioned on {connection.vendor}: nothing to do."
            )
            return
        created = partitions.create_ahead(ahead)
        for name in created:
            self.stdout.write(f"Created {name}.")
        newest = partitions.attached()[-1]
        self.stdout.write(f"Comments can be stored until {newest.ends_at:%Y-%m-%d %H:%M} UTC.")
