from django.core.management.base import BaseCommand, CommandError

from core.partitions import LOGS, is_partitioned
from core.services import partitions


class Command(BaseCommand):
    help = (
        "Create the monthly partitions of the audit trail and the event log for this month and "
        "the coming ones (migrate does it too; run it monthly from cron to be safe). Status 1 "
        "when a month cannot get its partition because its rows sit in the DEFAULT partition."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=partitions.MONTHS_AHEAD,
            help=f"Months after this one to prepare (default {partitions.MONTHS_AHEAD}).",
        )

    def handle(self, *args, months_ahead: int, **options):
        if months_ahead < 0:
            raise CommandError("--months-ahead cannot be negative.")
        if not all(is_partitioned(table) for table in LOGS):
            raise CommandError("The logs are not partitioned yet: run manage.py migrate.")
        report = partitions.partitions_ensure(months_ahead=months_ahead)
        for name in report.created:
            self.stdout.write(f"Created {name}.")
        if not report.created:
            self.stdout.write("Every partition was already there.")
        if report.blocked:
            raise CommandError(
                "Rows of these months are in the DEFAULT partition, so their partitions could "
                f"not be created: {', '.join(report.blocked)} (docs/operations.md says what to do)."
            )
