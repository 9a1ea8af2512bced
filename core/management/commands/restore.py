from pathlib import Path
from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandError
from psycopg.conninfo import conninfo_to_dict

from core.backup import Backup, run_client, sha256_of, table_rows, tables_of
from core.postgres import create_database, describe_connection_failure, is_missing_database


class Command(BaseCommand):
    help = (
        "Restore a backup (its .dump or its .json) into the database of --target, after checking "
        "the archive against its manifest's SHA-256; then compare every table's rows with the "
        "manifest. Refuses a target that holds tables unless --force; creates a missing one."
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
            help="Restore into a database that holds tables, replacing those the backup has.",
        )

    def handle(self, *args, path: Path, target: str, force: bool = False, **options):
        backup = Backup.at(path)
        manifest = backup.manifest()
        archive = backup.archive_path
        if not archive.is_file():
            raise CommandError(f"The archive {archive} is missing; nothing was restored.")
        # Before the target is even connected to: a damaged archive must leave it untouched.
        if sha256_of(archive) != manifest["sha256"]:
            raise CommandError(
                f"{archive.name} does not match its manifest's SHA-256: the archive is damaged "
                "or not the one the manifest describes; nothing was restored."
            )
        conninfo = self._target(target)
        tables_before = self._tables_in(conninfo)
        if tables_before and not force:
            raise CommandError(
                f'The target database "{conninfo["dbname"]}" is not empty ({tables_before} '
                "tables); restore into an empty one, or pass --force to replace what it holds."
            )
        run_client(
            "pg_restore",
            [
                # Roles and grants are the source server's; the target's role owns what it
                # restores.
                "--no-owner",
                "--no-privileges",
                # All or nothing: a failure leaves the target as it was.
                "--single-transaction",
                "--exit-on-error",
                *(["--clean", "--if-exists"] if tables_before else []),
                f"--dbname={conninfo['dbname']}",
                str(archive),
            ],
            conninfo,
        )
        self._verify(conninfo, manifest)

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

    def _verify(self, conninfo: dict[str, Any], manifest: dict) -> None:
        with psycopg.connect(**conninfo, connect_timeout=5) as connection:
            restored = table_rows(connection)
        expected: dict[str, int] = manifest["tables"]
        width = max(len(name) for name in expected)
        self.stdout.write(f"{'table':<{width}}  {'backup':>10}  {'restored':>10}")
        wrong = []
        for name, rows in sorted(expected.items()):
            found = restored.get(name)
            mark = "" if found == rows else "  MISMATCH"
            if mark:
                wrong.append(name)
            shown = "missing" if found is None else found
            self.stdout.write(f"{name:<{width}}  {rows:>10}  {shown:>10}{mark}")
        if wrong:
            raise CommandError(
                f"Restored, but {len(wrong)} table(s) differ from the manifest: {', '.join(wrong)}."
            )
        self.stdout.write(
            f"Restored {manifest['archive']} ({manifest['created_at']}) into "
            f"{conninfo['dbname']}: {sum(expected.values())} rows in {len(expected)} tables, "
            "every count as in the backup."
        )
