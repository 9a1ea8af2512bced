from django.core.management.base import BaseCommand

from billing import selectors


class Command(BaseCommand):
    help = (
        "Reports past-due invoices (open, due date passed): the oldest first, then what each "
        "customer owes and how much of it is past due. Reads only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=int, default=50, help="invoices and customers to list (default 50)"
        )

    def handle(self, *args, limit: int, **options):
        invoices = selectors.past_due(selectors.invoice_list()).order_by("due_date", "id")
        rows = list(invoices[:limit])
        self.stdout.write(f"Past-due invoices (oldest first, at most {limit}):")
        for invoice in rows:
            self.stdout.write(
                f"  {invoice.number:18} {invoice.customer.name[:30]:30}"
                f" due {invoice.due_date:%Y-%m-%d}  {invoice.amount:>12}"
            )
        if not rows:
            self.stdout.write("  none")
        self.stdout.write("Customers owing the most (outstanding / past due):")
        for balance in selectors.outstanding_by_customer(limit=limit):
            if balance.past_due:
                self.stdout.write(
                    f"  {balance.customer_name[:30]:30} {balance.outstanding:>12}"
                    f" / {balance.past_due:>12}"
                )
