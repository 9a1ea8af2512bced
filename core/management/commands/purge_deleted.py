import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from core.context import SYSTEM
from core.progress import ProgressCommandMixin
from core.services import retention

_DURATION = re.compile(r"^(\d+)([dh]?)$")


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise CommandError(f"--older-than takes days or hours such as 30d or 12h, not {text!r}.")
    amount, unit = int(match[1]), match[2] or "d"
    return timedelta(hours=amount) if unit == "h" else timedelta(days=amount)


class Command(ProgressCommandMixin, BaseCommand):
    help = (
        "Remove rows soft-deleted longer ago than their retention (SOFT_DELETE_RETENTION_DAYS "
        "per model, or --older-than for all), children with them, in batches. Money records "
        "are never purged: a customer or product still on an invoice is kept and counted. "
        "One audit event records what a real run removed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=_duration,
            default=None,
            help="Retention for every model, e.g. 30d or 12h (default: the per-model setting).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what is due; remove nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=retention.DEFAULT_BATCH_SIZE,
            help=f"Rows per transaction (default {retention.DEFAULT_BATCH_SIZE}).",
        )
        self.add_progress_argument(parser)

    def handle(self, *args, older_than, dry_run, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        with self.progress(options) as progress:
            report = retention.purge_deleted(
                actor=None,
                context=SYSTEM,
                older_than=older_than,
                dry_run=dry_run,
                batch_size=batch_size,
                progress=None
                if dry_run or not progress.enabled
                else lambda count: progress.count(
                    count.label, count.purged + count.kept, count.due
                ),
            )
        for count in report.counts:
            if dry_run:
                line = (
                    f"{count.label}: {count.due} due (deleted before {count.cutoff:%Y-%m-%d %H:%M})"
                )
            else:
                line = f"{count.label}: {count.purged} purged of {count.due} due"
                if count.kept:
                    line += f", {count.kept} kept (still on money records)"
            self.stdout.write(line)
        if dry_run:
            self.stdout.write("Dry run: nothing removed.")
