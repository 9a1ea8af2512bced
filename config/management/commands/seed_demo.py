from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_PASSWORD
from config import scale
from config.demo import seed_demo
from core.progress import ProgressCommandMixin


class Command(ProgressCommandMixin, BaseCommand):
    help = (
        "Build a small demo data set for development and demos: staff and member accounts "
        f"with roles (all signing in with the password '{DEMO_PASSWORD}'), conversations, "
        "documents with versions and shares, customers, products, invoices and payments. "
        "Safe to run again: demo accounts are found by email and get their password, flags "
        "and role back; each conversation (title), document (owner and title), product (name) "
        "and customer (email, with its invoices and payments) is created only if it is "
        "missing, and left as it is otherwise. Everything is written through the services, "
        "each call its own transaction. Refused unless the "
        "settings allow demo data (DEMO_DATA_ALLOWED: development and tests): the demo "
        "password is public. With --scale N, first loads every domain's bulk data set, N "
        "units of it (config/scale.py: 1 unit is 10,000 messages, 2,000 document versions, "
        "1,000 invoices, 1,000 API sessions, 1,000 audit events and events), into a "
        "database without documents or invoices."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what the data set would create; write nothing.",
        )
        parser.add_argument(
            "--scale",
            type=int,
            metavar="N",
            help="Also load N units of every domain's scale data, before the demo data.",
        )
        self.add_progress_argument(parser)

    def handle(self, *args, dry_run: bool = False, **options):
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError(
                "Demo data is not allowed with these settings (DEMO_DATA_ALLOWED is off): "
                "it would create staff accounts with a public password."
            )
        if options["scale"] is not None:
            self._load_scale(options["scale"], dry_run=dry_run, options=options)
        summary = seed_demo(dry_run=dry_run)
        created = ", ".join(f"{count} {name}" for name, count in summary.created.items())
        if dry_run:
            self.stdout.write(f"Dry run, nothing written. Would create: {created or 'nothing'}.")
        elif created:
            self.stdout.write(self.style.SUCCESS(f"Created {created}."))
        else:
            self.stdout.write("The demo data set was already complete; nothing created.")
        self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
        width = max(len(email) for email, _ in summary.logins)
        for email, role in summary.logins:
            self.stdout.write(f"  {email:<{width}}  {role}")

    def _load_scale(self, units: int, *, dry_run: bool, options: dict) -> None:
        try:
            steps = scale.scale_steps(units)
        except ValueError as error:
            raise CommandError(str(error)) from error
        # Asked before anything is written, the dry run included: it promises only what the
        # real run will do.
        if refused := scale.refusals(steps):
            raise CommandError("Scale data refused, nothing loaded: " + "; ".join(refused))
        if dry_run:
            for step in steps:
                self.stdout.write(f"Dry run: would load {step.domain}: {step.plan}.")
            return
        with self.progress(options) as progress:
            for step in steps:
                progress.line(f"{step.domain}: {step.plan}")
                step.load(progress.line)
                self.stdout.write(f"Loaded {step.domain}: {step.plan}.")
