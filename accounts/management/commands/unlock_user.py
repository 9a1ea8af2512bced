from django.core.management.base import BaseCommand, CommandError

from accounts import selectors
from accounts.services import login
from core.context import SYSTEM


class Command(BaseCommand):
    help = "Lift a login lockout and forget past failed attempts; the unlock is audited."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The account's email address.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say whether the account is locked; change nothing.",
        )

    def handle(self, *args, email: str, dry_run: bool = False, **options):
        user = selectors.user_by_email(email=email)
        if user is None:
            raise CommandError(f"No account with the email {email}.")
        if dry_run:
            state = (
                f"locked until {user.locked_until:%Y-%m-%d %H:%M %Z}"
                if user.locked_until
                else "not locked"
            )
            self.stdout.write(f"{user.email} is {state}; nothing changed.")
            return
        was_locked = login.user_unlock(user=user, actor=None, context=SYSTEM)
        self.stdout.write(
            f"Unlocked {user.email}."
            if was_locked
            else f"{user.email} was not locked; counters reset."
        )
