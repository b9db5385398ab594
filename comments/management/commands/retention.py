"""Archive comments older than LC_RETENTION_DAYS, a week at a time, then drop them (SPEC §5)."""

import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from comments import retention

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Write each week of comments older than LC_RETENTION_DAYS to "
        "<archive dir>/<week>.jsonl.gz, check the file against the week, then drop the "
        "week (its partition on PostgreSQL). Restore with `restore_comments FILE`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, help="keep this many days (default: LC_RETENTION_DAYS)"
        )
        parser.add_argument(
            "--archive-dir",
            type=Path,
            default=settings.LC_ARCHIVE_DIR,
            help=f"where archives go (default: LC_ARCHIVE_DIR, {settings.LC_ARCHIVE_DIR})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be archived and dropped"
        )

    def handle(self, *args, days, archive_dir, dry_run, **options):
        days = days if days is not None else settings.LC_RETENTION_DAYS
        if days is None:
            self.stdout.write("LC_RETENTION_DAYS is not set: every comment is kept.")
            return
        if days < 1:
            raise CommandError(f"--days must be 1 or more, got {days}.")
        if archive_dir.exists() and not archive_dir.is_dir():
            raise CommandError(f"--archive-dir {archive_dir} is not a directory.")
        weeks = retention.expired(days)
        if not weeks:
            self.stdout.write(f"No week of comments is older than {days} days.")
        refused = []
        for week in weeks:
            try:
                done = retention.apply(week, archive_dir, dry_run=dry_run)
            except retention.ArchiveMismatch as error:
                refused.append(week.name)
                # Logged, not only printed: cron's output is often read only by the log.
                logger.error("retention refused: %s", error)
                continue
            if dry_run:
                archive = "write" if done.archived_now else "check the existing"
                self.stdout.write(
                    f"Would {archive} {done.archive} ({done.rows} comments), then drop {week.name}."
                )
            else:
                self.stdout.write(f"Dropped {week.name}: {done.rows} comments in {done.archive}.")
        if refused:
            raise CommandError(f"Kept {len(refused)} week(s) whose archive did not match.")
