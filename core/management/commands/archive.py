from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.backup import backup_key
from core.context import SYSTEM
from core.partitions import LOGS, Month, default_rows, is_partitioned
from core.progress import ProgressCommandMixin
from core.services import partitions


class Command(ProgressCommandMixin, BaseCommand):
    help = (
        "Archive the months of the audit trail and the event log before YYYY-MM: each month's "
        "partition is detached, dumped into a backup of its own (pg_dump archive and manifest "
        "with SHA-256 and rows, restorable with manage.py restore), read back against its "
        "checksum and dropped; one audit event per month. A month whose dump fails is "
        "attached again, untouched."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--before",
            required=True,
            metavar="YYYY-MM",
            help="Archive every month before this one (UTC), e.g. 2026-01.",
        )
        parser.add_argument(
            "--table",
            choices=LOGS,
            help="Only this log (default: both).",
        )
        parser.add_argument(
            "--output",
            type=Path,
            help="Directory of the archives (default: BACKUP_DIR/archive).",
        )
        parser.add_argument(
            "--encrypt",
            action="store_true",
            help="Seal each archive with BACKUP_ENCRYPTION_KEY, as backup --encrypt does.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List the months that would go; touch nothing."
        )
        self.add_progress_argument(parser)

    def handle(self, *args, before: str, table: str | None, output: Path | None, **options):
        try:
            cutoff = Month.parse(before)
        except ValueError as error:
            raise CommandError(f"--before: {error}.") from None
        tables = (table,) if table else LOGS
        if not all(is_partitioned(name) for name in tables):
            raise CommandError("The logs are not partitioned yet: run manage.py migrate.")
        if cutoff > Month.of(timezone.now()):
            raise CommandError("--before cannot be after this month: its rows are still written.")
        key = backup_key() if options["encrypt"] else None
        directory = output or settings.BACKUP_DIR / "archive"
        due = partitions.months_to_archive(before=cutoff, tables=tables)
        for name in tables:
            stray = default_rows(name)
            if stray.oldest is not None and stray.oldest < cutoff.start:
                self.stderr.write(
                    f"{name}_default holds {stray.rows} rows from {stray.oldest:%Y-%m-%d}: they "
                    "are not archived (db_health; docs/operations.md)."
                )
        if options["dry_run"]:
            for name, month in due:
                self.stdout.write(f"Would archive {month.partition_of(name)}.")
            self.stdout.write(f"Dry run: {len(due)} month(s) would be archived, nothing touched.")
            return
        with self.progress(options) as progress:
            for done, (name, month) in enumerate(due, start=1):
                archived = partitions.partition_archive(
                    table=name,
                    month=month,
                    directory=directory,
                    key=key,
                    actor=None,
                    context=SYSTEM,
                )
                self.stdout.write(
                    f"Archived {month.partition_of(name)}: {archived.rows} rows to "
                    f"{archived.backup.archive_path}."
                )
                progress.count("months archived", done, len(due))
        if not due:
            self.stdout.write(f"Nothing before {cutoff} to archive.")
