from django.core.management.base import BaseCommand

from accounts.services import credentials


class Command(BaseCommand):
    help = "Delete API sessions past their absolute expiry or idle longer than the idle timeout."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        count = credentials.sessions_purge_expired(dry_run=dry_run)
        self.stdout.write(f"{'Would delete' if dry_run else 'Deleted'} {count} expired sessions.")
