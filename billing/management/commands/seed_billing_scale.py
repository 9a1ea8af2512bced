from django.core.management.base import BaseCommand, CommandError

from billing import scale
from core.progress import ProgressCommandMixin


class Command(ProgressCommandMixin, BaseCommand):
    help = (
        "Load a large billing data set for benchmarks: INVOICES invoices (default 1,000,000) "
        "with one line each and two payments for each finalized one (about 2 million), over "
        "CUSTOMERS customers (default 10,000). Only into a database without invoices: run it "
        "on a fresh bench database, never on one holding real data."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--invoices", type=int, default=1_000_000, help="Invoices to load (default 1M)."
        )
        parser.add_argument(
            "--customers", type=int, default=10_000, help="Customers to create (default 10,000)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be loaded; load nothing."
        )
        self.add_progress_argument(parser)

    def handle(self, *args, invoices: int, customers: int, dry_run: bool, **options):
        if invoices < 1 or customers < 1:
            raise CommandError("Needs at least 1 invoice and 1 customer.")
        plan = f"{invoices:,} invoices over {customers:,} customers"
        if reason := scale.refusal():
            raise CommandError(reason)
        if dry_run:
            self.stdout.write(f"Dry run, nothing written. Would load {plan}.")
            return
        self.stdout.write(f"Loading {plan} ...")
        try:
            with self.progress(options) as progress:
                result = scale.billing_scale_load(
                    invoices=invoices, customers=customers, progress=progress.line
                )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {result.customers:,} customers, {result.invoices:,} invoices and"
                f" {result.payments:,} payments in {result.seconds:.0f}s."
            )
        )
