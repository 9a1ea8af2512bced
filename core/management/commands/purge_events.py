from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core import events
from core.progress import ProgressCommandMixin


class Command(ProgressCommandMixin, BaseCommand):
    help = (
        "Removes events that occurred more than --older-than days ago (default 30), in batches "
        "of --batch-size, printing progress; the only way events leave the log. A client whose "
        "cursor is older than that misses them, so keep the window longer than any client "
        "stays away."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=30, help="days of events to keep")
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per DELETE")
        parser.add_argument("--dry-run", action="store_true", help="count, remove nothing")
        self.add_progress_argument(parser)

    def handle(self, *args, older_than: int, batch_size: int, dry_run: bool, **options):
        if older_than < 1:
            raise CommandError("--older-than is at least 1 day.")
        if batch_size < 1:
            raise CommandError("--batch-size is at least 1.")
        # One cutoff for the whole run: events written while it runs are never its business.
        before = timezone.now() - timedelta(days=older_than)
        if dry_run:
            count = events.count_older(before=before)
            self.stdout.write(f"would remove {count} events older than {older_than} days")
            return
        total = 0
        with self.progress(options) as progress:
            due = events.count_older(before=before) if progress.enabled else 0
            while removed := events.purge_older(before=before, batch_size=batch_size):
                total += removed
                progress.count("events removed", total, max(due, total))
        self.stdout.write(f"removed {total} events older than {older_than} days")
