import argparse
import re
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from core.backup import (
    MANIFEST_FORMAT,
    Backup,
    conninfo_of,
    run_client,
    sha256_of,
    table_rows,
)
from core.postgres import DIRECT_DB_ALIAS, describe_connection_failure


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {value!r}")
    return int(value)


class Command(BaseCommand):
    help = (
        "Back up the database: a pg_dump archive (custom format) and a JSON manifest beside it "
        "(its SHA-256, the rows of every table, the applied migrations, the time). With --keep N, "
        "then removes all but the newest N backups of this database from the directory."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            type=Path,
            help="Directory of the backups (default: the BACKUP_DIR setting, ./backups).",
        )
        parser.add_argument(
            "--keep", type=_positive, metavar="N", help="Keep only the newest N backups."
        )

    def handle(self, *args, output: Path | None = None, keep: int | None = None, **options):
        # pg_dump sets session parameters: it must reach the primary past any pooler.
        database = connections[DIRECT_DB_ALIAS].settings_dict
        directory = output or settings.BACKUP_DIR
        directory.mkdir(parents=True, exist_ok=True)
        started = datetime.now(UTC)
        backup = Backup(directory / f"{database['NAME']}-{started:%Y%m%dT%H%M%S%fZ}.json")
        # The archive is written aside and renamed once complete, so a failed run leaves
        # nothing that looks like a backup.
        partial = backup.archive_path.with_suffix(".dump.partial")
        try:
            tables, migrations = self._dump(database, partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(backup.archive_path)
        backup.write_manifest(
            {
                "format": MANIFEST_FORMAT,
                "database": database["NAME"],
                "created_at": started.isoformat(),
                "archive": backup.archive_path.name,
                "sha256": sha256_of(backup.archive_path),
                "size": backup.archive_path.stat().st_size,
                "tables": tables,
                "migrations": migrations,
            }
        )
        self.stdout.write(
            f"Backed up {database['NAME']} to {backup.archive_path} "
            f"({sum(tables.values())} rows in {len(tables)} tables), manifest "
            f"{backup.manifest_path.name}."
        )
        if keep:
            self._prune(directory, database["NAME"], keep)

    def _dump(self, database, archive: Path) -> tuple[dict[str, int], list[str]]:
        conninfo = conninfo_of(database)
        try:
            # A read-only snapshot, not a write: pg_dump dumps the very snapshot the rows are
            # counted in, so the manifest describes the archive exactly, writes or not.
            with psycopg.connect(**conninfo, connect_timeout=5) as snapshot:
                snapshot.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                snapshot.read_only = True
                [(snapshot_id,)] = snapshot.execute("SELECT pg_export_snapshot()").fetchall()
                tables = table_rows(snapshot)
                migrations = (
                    [
                        f"{app}.{name}"
                        for app, name in snapshot.execute(
                            "SELECT app, name FROM django_migrations ORDER BY id"
                        )
                    ]
                    if "django_migrations" in tables
                    else []
                )
                run_client(
                    "pg_dump",
                    ["--format=custom", f"--snapshot={snapshot_id}", f"--file={archive}"],
                    conninfo,
                )
        except psycopg.OperationalError as error:
            raise CommandError(describe_connection_failure(error, database)) from None
        return tables, migrations

    def _prune(self, directory: Path, name: str, keep: int) -> None:
        pattern = re.compile(rf"{re.escape(name)}-\d{{8}}T\d{{12}}Z\.json")
        # The timestamp in the name sorts as the time.
        backups = sorted(p for p in directory.iterdir() if pattern.fullmatch(p.name))
        for manifest in backups[:-keep]:
            Backup(manifest).remove()
            self.stdout.write(f"Removed the older backup {manifest.stem}.")
