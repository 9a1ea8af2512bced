from pathlib import Path
from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandError
from psycopg.conninfo import conninfo_to_dict

from core.backup import (
    Backup,
    busy_refusal,
    replace_database,
    restore_and_count,
    scratch_database,
    tables_of,
)
from core.postgres import create_database, describe_connection_failure, is_missing_database
from core.progress import ProgressCommandMixin


class Command(ProgressCommandMixin, BaseCommand):
    help = (
        "Restore a backup (its .dump or its .json) into the database of --target, after checking "
        "the archive against its manifest's SHA-256 (an encrypted one opens with "
        "BACKUP_ENCRYPTION_KEY); then compare every table's rows with the manifest. Refuses a "
        "target that holds tables unless --force; creates a missing one. With --force, restores "
        "into a new database beside the target, checks it, and only then swaps it in by name, "
        "keeping the old database as <target>_replaced_<time>; any failure leaves the target "
        "as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The backup's archive or manifest.")
        parser.add_argument(
            "--target",
            required=True,
            metavar="DATABASE_URL",
            help="The database to restore into, e.g. postgres://user@host:5432/atrium_restored.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace a database that holds tables: restored and checked beside it, then "
            "swapped in by name (the old one is kept, renamed); needs nobody connected to it "
            "and a role that owns it and may create databases.",
        )
        self.add_progress_argument(parser)

    def handle(self, *args, path: Path, target: str, force: bool = False, **options):
        backup = Backup.at(path)
        # Before the target is even connected to: a damaged archive must leave it untouched.
        manifest = backup.checked_manifest()
        conninfo = self._target(target)
        tables_before = self._tables_in(conninfo)
        if tables_before and not force:
            raise CommandError(
                f'The target database "{conninfo["dbname"]}" is not empty ({tables_before} '
                "tables); restore into an empty one, or pass --force to replace what it holds."
            )
        if tables_before and (reason := busy_refusal(conninfo)):
            raise CommandError(reason)
        kept = None
        with self.progress(options) as progress:
            if not tables_before:
                counts = restore_and_count(backup, manifest, conninfo, progress.line)
            else:
                counts, kept = self._replace(backup, manifest, conninfo, progress.line)
        for line in counts.lines():
            self.stdout.write(line)
        if counts.differing:
            untouched = " The target was left as it was." if tables_before else ""
            raise CommandError(
                f"Restored, but {len(counts.differing)} table(s) differ from the manifest: "
                f"{', '.join(counts.differing)}.{untouched}"
            )
        self.stdout.write(
            f"Restored {manifest['archive']} ({manifest['created_at']}) into "
            f"{conninfo['dbname']}: {sum(counts.expected.values())} rows in "
            f"{len(counts.expected)} tables, every count as in the backup."
        )
        if kept:
            self.stdout.write(
                f'The database it replaced is kept as "{kept}"; drop it once you are satisfied '
                f'(DROP DATABASE "{kept}").'
            )

    def _replace(self, backup, manifest, conninfo, report):
        """Restores into a scratch database beside the target and, when every count matches,
        swaps it in; the target is touched only by that rename."""
        try:
            with scratch_database(conninfo, "restore") as scratch:
                counts = restore_and_count(backup, manifest, scratch, report)
                if counts.differing:
                    return counts, None
                return counts, replace_database(conninfo, scratch)
        except CommandError as error:
            raise CommandError(f"{error} The target was left as it was.") from None

    def _target(self, url: str) -> dict[str, Any]:
        try:
            conninfo = conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            conninfo = {}
        if not url.startswith(("postgres://", "postgresql://")) or not conninfo.get("dbname"):
            raise CommandError(
                "--target must be a PostgreSQL URL naming a database, e.g. "
                "postgres://user:password@host:5432/atrium_restored"
            )
        return {key: str(value) for key, value in conninfo.items()}

    def _tables_in(self, conninfo: dict[str, Any]) -> int:
        """Tables the target holds; a missing target database is created."""
        database = {
            "HOST": conninfo.get("host"),
            "PORT": conninfo.get("port"),
            "USER": conninfo.get("user"),
            "NAME": conninfo["dbname"],
        }
        try:
            with psycopg.connect(**conninfo, connect_timeout=5) as connection:
                return len(tables_of(connection))
        except psycopg.OperationalError as error:
            if not is_missing_database(error, conninfo["dbname"]):
                raise CommandError(
                    describe_connection_failure(error, database, setting="--target")
                ) from None
        try:
            create_database(conninfo)
        except psycopg.Error as error:
            raise CommandError(
                f'Cannot create the target database "{conninfo["dbname"]}": '
                f"{error.diag.message_primary or error}"
            ) from None
        self.stdout.write(f"Created database {conninfo['dbname']}.")
        return 0
