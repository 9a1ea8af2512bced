from django.core.management.base import BaseCommand, CommandError

from core import db_health


class Command(BaseCommand):
    help = (
        "Checks the database's health from PostgreSQL's statistics: table and index bloat "
        "(estimates), indexes never scanned, invalid indexes, tables overdue for vacuum, "
        "long-running transactions, connections against max_connections, the cache hit "
        "ratio and the transaction id age. Exits with status 1 when something needs a "
        "human (each such line says what to do), 0 otherwise. Reads statistics only; "
        "--reindex-invalid also rebuilds invalid indexes, concurrently."
    )

    def add_arguments(self, parser):
        defaults = db_health.Limits()
        parser.add_argument(
            "--reindex-invalid",
            action="store_true",
            help="Rebuild every invalid index with REINDEX CONCURRENTLY (writes go on), then "
            "check again.",
        )
        parser.add_argument(
            "--long-transaction-seconds",
            type=int,
            default=defaults.long_transaction_seconds,
            help="A transaction open longer than this needs a human "
            f"(default {defaults.long_transaction_seconds}).",
        )
        parser.add_argument(
            "--vacuum-overdue-hours",
            type=int,
            default=defaults.vacuum_overdue_seconds // 3600,
            help="A table past autovacuum's threshold and not vacuumed for this long needs a "
            f"human (default {defaults.vacuum_overdue_seconds // 3600}).",
        )
        parser.add_argument(
            "--min-size-mib",
            type=int,
            default=defaults.min_bytes // db_health.MIB,
            help="Leave relations smaller than this out of the bloat and unused-index lists "
            f"(default {defaults.min_bytes // db_health.MIB}).",
        )

    def handle(self, *args, reindex_invalid: bool, **options):
        for name in ("long_transaction_seconds", "vacuum_overdue_hours", "min_size_mib"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} cannot be negative.")
        limits = db_health.Limits(
            long_transaction_seconds=options["long_transaction_seconds"],
            vacuum_overdue_seconds=options["vacuum_overdue_hours"] * 3600,
            min_bytes=options["min_size_mib"] * db_health.MIB,
        )
        if reindex_invalid:
            for index, table in db_health.invalid_indexes():
                self.stdout.write(f"Rebuilding {index} on {table} concurrently ...")
                db_health.reindex_concurrently(index)
        checks = db_health.run_checks(limits)
        for check in checks:
            self.stdout.write(self.style.MIGRATE_HEADING(check.title))
            for line in check.lines or ["nothing to report"]:
                self.stdout.write(f"  {line}")
        attention = [check.title for check in checks if check.needs_human]
        if attention:
            # One line on stderr and status 1: a scheduler or monitor acts on the status.
            raise CommandError("Needs a human: " + "; ".join(attention) + ".")
        self.stdout.write(self.style.SUCCESS("Healthy: nothing needs a human."))
