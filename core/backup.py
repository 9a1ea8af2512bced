"""Backups an operator can trust without a DBA: a pg_dump archive (custom format) and, beside it,
a JSON manifest saying what it holds (``manage.py backup``, ``manage.py restore``).

The manifest records the archive's SHA-256, the rows of every table, the applied migrations
and the time. The row counts are taken in the very snapshot pg_dump dumps
(``pg_export_snapshot``), so a restore can be checked against them exactly.

Encrypted backups (``backup --encrypt``) never put the plain archive on disk: pg_dump writes to
a pipe, and the archive is sealed as it arrives, in chunks of 1 MiB, each with AES-256-GCM under
the key of ``BACKUP_ENCRYPTION_KEY`` (a Fernet-format key: 32 url-safe base64 bytes). Each
chunk's nonce is a random per-archive prefix and the chunk's number, and its associated data
says its number and whether it is the last, so a chunk cannot be altered, moved, dropped or
cut off without the restore refusing the archive. The manifest's SHA-256 is of the sealed
file, checked before any key is used; it names the key by a fingerprint, never the key.
"""

import base64
import binascii
import hashlib
import json
import os
import secrets
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.management.base import CommandError
from psycopg import sql

MANIFEST_FORMAT = 1
# Tries at dropping a scratch database whose sessions are slow to end (about a minute).
_DROP_ATTEMPTS = 8
# libpq's connection keywords and the environment variables its tools read them from: the
# password never appears on a command line (visible to every user in ps).
_LIBPQ_ENVIRONMENT = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "options": "PGOPTIONS",
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


def _client(program: str, conninfo: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    executable = shutil.which(program)
    if executable is None:
        raise CommandError(f"{program} is not installed (PostgreSQL's client tools).")
    environment = {k: v for k, v in os.environ.items() if k not in _LIBPQ_ENVIRONMENT.values()}
    environment |= {_LIBPQ_ENVIRONMENT[key]: value for key, value in conninfo.items()}
    return executable, environment


def _client_failed(program: str, returncode: int, stderr: str) -> CommandError:
    lines = stderr.strip().splitlines() or [f"exit status {returncode}"]
    return CommandError(f"{program} failed: {lines[-1]}")


def run_client(program: str, arguments: list[str], conninfo: Mapping[str, Any]) -> None:
    """Runs a PostgreSQL client tool against ``conninfo``; CommandError with its last words
    when it fails."""
    executable, environment = _client(program, conninfo)
    result = subprocess.run(  # noqa: S603
        [executable, *arguments], env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise _client_failed(program, result.returncode, result.stderr)


def piped_client(
    program: str,
    arguments: list[str],
    conninfo: Mapping[str, Any],
    *,
    feed: Callable[[IO[bytes]], None] | None = None,
    drain: Callable[[IO[bytes]], None] | None = None,
) -> None:
    """Runs a client tool with its stdin fed by ``feed`` or its stdout read by ``drain``
    (streams, so no plain archive touches the disk); CommandError as ``run_client``."""
    executable, environment = _client(program, conninfo)
    # stderr goes to a file: a pipe nobody reads could fill and stall the tool.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603
            [executable, *arguments],
            env=environment,
            stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
            stdout=subprocess.PIPE if drain else subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            if feed and process.stdin:
                try:
                    feed(process.stdin)
                finally:
                    process.stdin.close()
            if drain and process.stdout:
                drain(process.stdout)
        except BrokenPipeError:
            pass  # the tool stopped reading: its exit status and stderr say why
        except BaseException:
            process.kill()
            process.wait()
            raise
        returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            raise _client_failed(program, returncode, errors.read().decode(errors="replace"))


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


# --- Encryption ---------------------------------------------------------------------------

ENCRYPTION_SCHEME = "aes-256-gcm-chunked-1"
_MAGIC = b"ATRIUM-BACKUP-AES256GCM-1\n"
_CHUNK = 1 << 20
_LENGTH = struct.Struct(">I")
_NONCE_PREFIX_BYTES = 8


def backup_key() -> bytes:
    """The key of ``BACKUP_ENCRYPTION_KEY``; CommandError saying what is wrong with it."""
    text = settings.BACKUP_ENCRYPTION_KEY
    if not text:
        raise CommandError(
            "BACKUP_ENCRYPTION_KEY is not set: put a key in the environment (make one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
            ".decode())') and keep a copy away from the backups."
        )
    try:
        key = base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise CommandError("BACKUP_ENCRYPTION_KEY is not 32 url-safe base64-encoded bytes.")
    return key


def key_fingerprint(key: bytes) -> str:
    """Names a key in a manifest without revealing it."""
    return hashlib.sha256(b"atrium.backup.key-fingerprint" + key).hexdigest()[:16]


def _associated_data(number: int, last: bool) -> bytes:
    return _MAGIC + struct.pack(">Q?", number, last)


def _read_fully(source: IO[bytes], size: int) -> bytes:
    data = bytearray()
    while len(data) < size and (block := source.read(size - len(data))):
        data += block
    return bytes(data)


def seal(source: IO[bytes], target: IO[bytes], key: bytes) -> None:
    """Encrypts ``source`` to ``target`` chunk by chunk; the last chunk (possibly empty) says
    it is the last."""
    cipher, prefix = AESGCM(key), secrets.token_bytes(_NONCE_PREFIX_BYTES)
    target.write(_MAGIC + prefix)
    number, chunk = 0, _read_fully(source, _CHUNK)
    while True:
        following = _read_fully(source, _CHUNK) if len(chunk) == _CHUNK else b""
        last = not following
        nonce = prefix + struct.pack(">I", number)
        sealed = cipher.encrypt(nonce, chunk, _associated_data(number, last))
        target.write(_LENGTH.pack(len(sealed)) + sealed)
        if last:
            return
        number, chunk = number + 1, following


def unseal(source: IO[bytes], target: IO[bytes], key: bytes) -> None:
    """Decrypts what ``seal`` wrote; CommandError if any chunk was altered, moved or cut."""
    cipher = AESGCM(key)
    header = _read_fully(source, len(_MAGIC) + _NONCE_PREFIX_BYTES)
    if not header.startswith(_MAGIC):
        raise CommandError("The archive is not an encrypted Atrium backup.")
    prefix, number = header[len(_MAGIC) :], 0
    while True:
        length = _read_fully(source, _LENGTH.size)
        size = _LENGTH.unpack(length)[0] if len(length) == _LENGTH.size else None
        sealed = _read_fully(source, size) if size else b""
        if size is None or len(sealed) < size:
            raise CommandError("The encrypted archive is cut short; nothing was restored.")
        nonce = prefix + struct.pack(">I", number)
        for last in (False, True):
            try:
                chunk = cipher.decrypt(nonce, sealed, _associated_data(number, last))
                break
            except InvalidTag:
                continue
        else:
            raise CommandError(
                "The encrypted archive does not open with BACKUP_ENCRYPTION_KEY (wrong key, or "
                "the archive was altered)."
            )
        target.write(chunk)
        if last:
            if source.read(1):
                raise CommandError("The encrypted archive has data after its end.")
            return
        number += 1


# --- The backup's two files ------------------------------------------------------------------


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

    def checked_manifest(self) -> dict[str, Any]:
        """The manifest, once the archive is there and matches its SHA-256 (and, encrypted,
        the configured key is the one it names): nothing has been touched yet."""
        manifest = self.manifest()
        archive = self.archive_path
        if not archive.is_file():
            raise CommandError(f"The archive {archive} is missing; nothing was restored.")
        if sha256_of(archive) != manifest["sha256"]:
            raise CommandError(
                f"{archive.name} does not match its manifest's SHA-256: the archive is damaged "
                "or not the one the manifest describes; nothing was restored."
            )
        encryption = manifest.get("encryption")
        if encryption and key_fingerprint(backup_key()) != encryption["key"]:
            raise CommandError(
                f"{archive.name} was encrypted with another key (fingerprint "
                f"{encryption['key']}) than BACKUP_ENCRYPTION_KEY; nothing was restored."
            )
        return manifest


def dump(
    conninfo: Mapping[str, Any], archive: Path, selection: list[str], *, key: bytes | None
) -> None:
    """pg_dump (custom format) of what ``selection`` says (pg_dump's options: a snapshot, a
    table) into ``archive``, sealed with ``key`` if any."""
    arguments = ["--format=custom", *selection]
    if key is None:
        run_client("pg_dump", [*arguments, f"--file={archive}"], conninfo)
        return
    with archive.open("wb") as target:
        piped_client("pg_dump", arguments, conninfo, drain=lambda out: seal(out, target, key))


def restore_archive(
    backup: Backup, manifest: Mapping[str, Any], conninfo: Mapping[str, Any]
) -> None:
    """pg_restore of the backup into ``conninfo``'s database (an empty one), in one
    transaction: a failure leaves it as it was."""
    arguments = [
        # Roles and grants are the source server's; the target's role owns what it restores.
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={conninfo['dbname']}",
    ]
    # Rebuilding the indexes is most of a large restore, and the server's default memory for
    # it (64 MB) makes the full-text GIN index of 10M messages take half an hour.
    restoring = {
        **conninfo,
        "options": f"-c maintenance_work_mem={settings.RESTORE_MAINTENANCE_WORK_MEM}",
    }
    if not manifest.get("encryption"):
        run_client("pg_restore", [*arguments, str(backup.archive_path)], restoring)
        return
    key = backup_key()
    with backup.archive_path.open("rb") as source:
        # Read from stdin, the plain archive never written down.
        piped_client(
            "pg_restore", arguments, restoring, feed=lambda into: unseal(source, into, key)
        )


@dataclass(frozen=True)
class CountCheck:
    """Rows per table in the manifest against a restored database."""

    expected: dict[str, int]
    restored: dict[str, int]

    @property
    def differing(self) -> list[str]:
        return [name for name, rows in self.expected.items() if self.restored.get(name) != rows]

    def lines(self) -> Iterator[str]:
        width = max((len(name) for name in self.expected), default=5)
        yield f"{'table':<{width}}  {'backup':>10}  {'restored':>10}"
        for name, rows in sorted(self.expected.items()):
            found = self.restored.get(name)
            shown = "missing" if found is None else found
            mark = "" if found == rows else "  MISMATCH"
            yield f"{name:<{width}}  {rows:>10}  {shown:>10}{mark}"


def check_counts(conninfo: Mapping[str, Any], manifest: Mapping[str, Any]) -> CountCheck:
    with psycopg.connect(**conninfo, connect_timeout=5) as connection:
        return CountCheck(expected=dict(manifest["tables"]), restored=table_rows(connection))


def restore_and_count(
    backup: Backup,
    manifest: Mapping[str, Any],
    conninfo: Mapping[str, Any],
    report: Callable[[str], object],
) -> CountCheck:
    """Restores the backup into ``conninfo``'s empty database, then counts its rows against
    the manifest."""
    report(f"Restoring into {conninfo['dbname']} ...")
    restore_archive(backup, manifest, conninfo)
    report("Counting the restored rows ...")
    return check_counts(conninfo, manifest)


def _maintenance(conninfo: Mapping[str, Any]) -> dict[str, Any]:
    """The server's ``postgres`` database, as ``conninfo``'s role: where databases are made,
    renamed and dropped from."""
    return {**conninfo, "dbname": "postgres"}


@contextmanager
def scratch_database(conninfo: Mapping[str, Any], purpose: str) -> Iterator[dict[str, Any]]:
    """A new empty database beside ``conninfo``'s, on the same server and role, named
    ``<database>_<purpose>_<random>``; dropped afterwards whatever happened, unless it was
    renamed meanwhile (``replace_database``)."""
    scratch = {**conninfo, "dbname": f"{conninfo['dbname'][:40]}_{purpose}_{secrets.token_hex(4)}"}
    maintenance = _maintenance(conninfo)
    name = sql.Identifier(scratch["dbname"])
    with psycopg.connect(**maintenance, connect_timeout=5, autocommit=True) as server:
        server.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield scratch
    finally:
        with psycopg.connect(**maintenance, connect_timeout=5, autocommit=True) as server:
            # FORCE waits 5 s for the sessions it ends; one busy building an index (a killed
            # pg_restore's) may take longer to notice, so it is asked again.
            for attempt in range(_DROP_ATTEMPTS):
                try:
                    server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
                    break
                except psycopg.errors.ObjectInUse:
                    if attempt == _DROP_ATTEMPTS - 1:
                        raise
                    time.sleep(2)


def other_sessions(conninfo: Mapping[str, Any]) -> list[str]:
    """Who else is connected to ``conninfo``'s database (application names, or the client's
    address): PostgreSQL renames a database only when nobody is."""
    with psycopg.connect(**_maintenance(conninfo), connect_timeout=5) as server:
        rows = server.execute(
            "SELECT coalesce(nullif(application_name, ''), client_addr::text, 'local')"
            " FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [conninfo["dbname"]],
        ).fetchall()
    return [row[0] for row in rows]


def busy_refusal(conninfo: Mapping[str, Any]) -> str | None:
    """Why ``conninfo``'s database cannot be replaced now, or None."""
    sessions = other_sessions(conninfo)
    if not sessions:
        return None
    return (
        f'{len(sessions)} other session(s) are connected to "{conninfo["dbname"]}" '
        f"({', '.join(sorted(set(sessions)))}); stop the application's workers and jobs "
        "first: a forced restore replaces the database whole, which PostgreSQL allows only "
        "with nobody connected. Nothing was restored."
    )


def replace_database(conninfo: Mapping[str, Any], replacement: Mapping[str, Any]) -> str:
    """Renames ``conninfo``'s database aside and ``replacement`` into its place; returns the
    name the old one is kept under. Either both renames happen or neither."""
    target = conninfo["dbname"]
    kept = f"{target[:40]}_replaced_{datetime.now(UTC):%Y%m%d%H%M%S}"
    with psycopg.connect(**_maintenance(conninfo), connect_timeout=5, autocommit=True) as server:
        rename = sql.SQL("ALTER DATABASE {} RENAME TO {}")
        try:
            server.execute(rename.format(sql.Identifier(target), sql.Identifier(kept)))
        except psycopg.errors.ObjectInUse:
            raise CommandError(
                busy_refusal(conninfo) or f'"{target}" is in use; nothing was restored.'
            ) from None
        try:
            server.execute(
                rename.format(sql.Identifier(replacement["dbname"]), sql.Identifier(target))
            )
        except psycopg.Error:
            server.execute(rename.format(sql.Identifier(kept), sql.Identifier(target)))
            raise
    return kept
