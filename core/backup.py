"""Backups an operator can trust without a DBA: a pg_dump archive (custom format) and, beside it,
a JSON manifest saying what it holds (``manage.py backup``, ``manage.py restore``).

The manifest records the archive's SHA-256, the rows of every table, the applied migrations
and the time. The row counts are taken in the very snapshot pg_dump dumps
(``pg_export_snapshot``), so a restore can be checked against them exactly.
"""

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.core.management.base import CommandError
from psycopg import sql

MANIFEST_FORMAT = 1
# libpq's connection keywords and the environment variables its tools read them from: the
# password never appears on a command line (visible to every user in ps).
_LIBPQ_ENVIRONMENT = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
}

_TABLES = """
    SELECT schemaname, tablename FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
    ORDER BY schemaname, tablename
"""


def conninfo_of(database: Mapping[str, Any]) -> dict[str, Any]:
    """libpq's keywords for a Django DATABASES entry."""
    values = {
        "host": database.get("HOST"),
        "port": database.get("PORT"),
        "user": database.get("USER"),
        "password": database.get("PASSWORD"),
        "dbname": database.get("NAME"),
        "sslmode": (database.get("OPTIONS") or {}).get("sslmode"),
    }
    return {key: str(value) for key, value in values.items() if value}


def run_client(program: str, arguments: list[str], conninfo: Mapping[str, Any]) -> None:
    """Runs a PostgreSQL client tool against ``conninfo``; CommandError with its last words
    when it fails."""
    executable = shutil.which(program)
    if executable is None:
        raise CommandError(f"{program} is not installed (PostgreSQL's client tools).")
    environment = {k: v for k, v in os.environ.items() if k not in _LIBPQ_ENVIRONMENT.values()}
    environment |= {_LIBPQ_ENVIRONMENT[key]: value for key, value in conninfo.items()}
    result = subprocess.run(  # noqa: S603
        [executable, *arguments], env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        raise CommandError(f"{program} failed: {lines[-1]}")


def tables_of(connection: psycopg.Connection) -> list[tuple[str, str]]:
    """(schema, table) of every table outside PostgreSQL's own schemas."""
    return connection.execute(_TABLES).fetchall()


def table_rows(connection: psycopg.Connection) -> dict[str, int]:
    """Exact rows per table (``schema.table`` outside ``public``), as this transaction sees
    them."""
    counts = {}
    for schema, table in tables_of(connection):
        [(rows,)] = connection.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        ).fetchall()
        counts[table if schema == "public" else f"{schema}.{table}"] = rows
    return counts


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as archive:
        for block in iter(lambda: archive.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Backup:
    """One backup: the archive and its manifest, side by side with the same stem."""

    manifest_path: Path

    @classmethod
    def at(cls, path: Path) -> "Backup":
        """The backup named by either of its two files."""
        return cls(path.with_suffix(".json"))

    @property
    def archive_path(self) -> Path:
        return self.manifest_path.with_suffix(".dump")

    def manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the manifest {self.manifest_path}: {error}") from None
        if manifest.get("format") != MANIFEST_FORMAT:
            raise CommandError(f"{self.manifest_path} is not a manifest this version reads.")
        return manifest

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        # Written aside and renamed: a manifest is either whole or absent.
        partial = self.manifest_path.with_suffix(".json.partial")
        partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        partial.replace(self.manifest_path)

    def remove(self) -> None:
        self.archive_path.unlink(missing_ok=True)
        self.manifest_path.unlink(missing_ok=True)
