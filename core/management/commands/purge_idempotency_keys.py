from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.services import idempotency


class Command(BaseCommand):
    help = (
        "Removes Idempotency-Key records older than --hours (default 24, the least a client "
        "may rely on); a retry after that is treated as a new request."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours", type=int, default=idempotency.KEPT_HOURS, help="keep keys this recent"
        )
        parser.add_argument("--dry-run", action="store_true", help="count, remove nothing")

    def handle(self, *args, hours: int, dry_run: bool, **options):
        if hours < idempotency.KEPT_HOURS:
            raise CommandError("Keys are promised to clients for at least 24 hours.")
        count = idempotency.idempotency_keys_purge(
            older_than=timezone.now() - timedelta(hours=hours), dry_run=dry_run
        )
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(f"{verb} {count} idempotency keys older than {hours} hours")
