"""Put archived comments back (the files `manage.py retention` writes)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from comments import retention


class Command(BaseCommand):
    help = (
        "Insert the comments of retention archives (.jsonl.gz) again. Comments already "
        "there are left as they are, so a file may be restored twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("archives", nargs="+", type=Path, help="archive files")

    def handle(self, *args, archives, **options):
        for path in archives:
            if not path.is_file():
                raise CommandError(f"{path} is not a file.")
        for path in archives:
            try:
                done = retention.restore(path)
            except (OSError, EOFError, ValueError, KeyError) as error:
                raise CommandError(f"{path} is not a comments archive: {error}") from None
            self.stdout.write(
                f"{path}: restored {done.inserted} comments, {done.present} were there"
                + (
                    f", skipped {done.skipped} whose stream or author is gone"
                    if done.skipped
                    else ""
                )
                + "."
            )
