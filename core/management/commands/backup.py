import argparse
import re
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from core.backup import (
    ENCRYPTION_SCHEME,
    MANIFEST_FORMAT,
    Backup,
    backup_key,
    conninfo_of,
    dump,
    key_fingerprint,
    restore_and_count,
    scratch_database,
    sha256_of,
    table_rows,
)
from core.postgres import DIRECT_DB_ALIAS, describe_connection_failure
from core.progress import CommandProgress, ProgressCommandMixin


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {value!r}")
    return int(value)


class Command(ProgressCommandMixin, BaseCommand):
    help = (
        "Back up the database: a pg_dump archive (custom format) and a JSON manifest beside it "
        "(its SHA-256, the rows of every table, the applied migrations, the time); --encrypt "
        "seals the archive with BACKUP_ENCRYPTION_KEY. With --keep N, then removes all but the "
        "newest N backups of this database from the directory. --verify PATH instead restores "
        "a backup into a scratch database, compares every table's rows with its manifest and "
        "drops the scratch database."
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
        parser.add_argument(
            "--encrypt",
            action="store_true",
            help="Seal the archive with AES-256-GCM under the key in the environment "
            "(BACKUP_ENCRYPTION_KEY); the plain archive never touches the disk.",
        )
        parser.add_argument(
            "--verify",
            type=Path,
            metavar="PATH",
            help="Check the backup at PATH (its .dump or .json) instead of making one: restore "
            "it into a scratch database beside this one and compare the rows.",
        )
        self.add_progress_argument(parser)

    def handle(self, *args, output: Path | None, keep: int | None, encrypt: bool, **options):
        # pg_dump sets session parameters: it must reach the primary past any pooler.
        database = connections[DIRECT_DB_ALIAS].settings_dict
        with self.progress(options) as progress:
            if options["verify"]:
                self._verify(Backup.at(options["verify"]), conninfo_of(database), progress)
                return
            key = backup_key() if encrypt else None
            directory = output or settings.BACKUP_DIR
            directory.mkdir(parents=True, exist_ok=True)
            started = datetime.now(UTC)
            backup = Backup(directory / f"{database['NAME']}-{started:%Y%m%dT%H%M%S%fZ}.json")
            # The archive is written aside and renamed once complete, so a failed run leaves
            # nothing that looks like a backup.
            partial = backup.archive_path.with_suffix(".dump.partial")
            try:
                tables, migrations = self._dump(database, partial, key, progress)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            partial.replace(backup.archive_path)
            progress.line("Checksumming the archive ...")
            backup.write_manifest(
                {
                    "format": MANIFEST_FORMAT,
                    "database": database["NAME"],
                    "created_at": started.isoformat(),
                    "archive": backup.archive_path.name,
                    "sha256": sha256_of(backup.archive_path),
                    "size": backup.archive_path.stat().st_size,
                    "encryption": (
                        {"scheme": ENCRYPTION_SCHEME, "key": key_fingerprint(key)} if key else None
                    ),
                    "tables": tables,
                    "migrations": migrations,
                }
            )
        self.stdout.write(
            f"Backed up {database['NAME']} to {backup.archive_path} "
            f"({sum(tables.values())} rows in {len(tables)} tables"
            f"{', encrypted' if key else ''}), manifest {backup.manifest_path.name}."
        )
        if keep:
            self._prune(directory, database["NAME"], keep)

    def _dump(
        self, database, archive: Path, key: bytes | None, progress: CommandProgress
    ) -> tuple[dict[str, int], list[str]]:
        conninfo = conninfo_of(database)
        try:
            # A read-only snapshot, not a write: pg_dump dumps the very snapshot the rows are
            # counted in, so the manifest describes the archive exactly, writes or not.
            with psycopg.connect(**conninfo, connect_timeout=5) as snapshot:
                snapshot.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                snapshot.read_only = True
                [(snapshot_id,)] = snapshot.execute("SELECT pg_export_snapshot()").fetchall()
                progress.line("Counting the rows of every table ...")
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
                progress.line(f"pg_dump{' (encrypted)' if key else ''} ...")
                dump(conninfo, archive, [f"--snapshot={snapshot_id}"], key=key)
        except psycopg.OperationalError as error:
            raise CommandError(describe_connection_failure(error, database)) from None
        return tables, migrations

    def _verify(self, backup: Backup, conninfo: dict, progress: CommandProgress) -> None:
        manifest = backup.checked_manifest()
        with scratch_database(conninfo, "verify") as scratch:
            counts = restore_and_count(backup, manifest, scratch, progress.line)
        for line in counts.lines():
            self.stdout.write(line)
        if counts.differing:
            raise CommandError(
                f"{backup.archive_path.name} restores, but {len(counts.differing)} table(s) "
                f"differ from its manifest: {', '.join(counts.differing)}."
            )
        self.stdout.write(
            f"Verified {backup.archive_path.name}: SHA-256 as in the manifest, restored into a "
            f"scratch database (dropped), {sum(counts.expected.values())} rows in "
            f"{len(counts.expected)} tables, every count as in the backup."
        )

    def _prune(self, directory: Path, name: str, keep: int) -> None:
        pattern = re.compile(rf"{re.escape(name)}-\d{{8}}T\d{{12}}Z\.json")
        # The timestamp in the name sorts as the time.
        backups = sorted(p for p in directory.iterdir() if pattern.fullmatch(p.name))
        for manifest in backups[:-keep]:
            Backup(manifest).remove()
            self.stdout.write(f"Removed the older backup {manifest.stem}.")
