from django.core.management.base import BaseCommand

from accounts.services.roles import permissions_sync


class Command(BaseCommand):
    help = (
        "Create a permission row (app_label.codename) for every model permission and the "
        "default roles (admin, staff, billing_manager, member) with their grants. Safe to "
        "run again: nothing existing is changed or removed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be created; change nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        result = permissions_sync(dry_run=dry_run)
        prefix = "Would create" if dry_run else "Created"
        self.stdout.write(
            f"{prefix} {result.permissions_created} permissions, {result.roles_created} roles, "
            f"{result.grants_created} role grants."
        )
