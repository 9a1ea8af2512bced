"""Keeping the logs' monthly partitions: creating the coming months, and archiving old ones.

Creating: ``partitions_ensure`` adds the partitions of this month and the next
``months_ahead`` (``manage.py ensure_partitions``; also after every ``migrate``, see
core/apps.py). Each partition is its own short transaction under a 5-second lock timeout: the
log's writers queue behind the lock it takes. A month whose rows already sit in the DEFAULT
partition cannot get a partition of its own (PostgreSQL would refuse); it is reported, and
db_health asks a human to move those rows.

Archiving: ``partition_archive`` takes one month of one log out of the database. It detaches
the partition (the rows leave the log at once, in one short transaction), dumps the detached
table with pg_dump into a backup of its own (core/backup.py: archive, manifest with SHA-256 and
row count, sealed with the backup key on request), reads the file back against its checksum,
then drops the table, recording one audit event. Should anything fail before the drop, the
partition is attached again: nothing is lost, and the next run retries. The backup restores
with ``manage.py restore`` (or checks with ``backup --verify``), as a table that can be
attached again (docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import audit, sql
from core.backup import (
    ENCRYPTION_SCHEME,
    MANIFEST_FORMAT,
    Backup,
    conninfo_of,
    dump,
    key_fingerprint,
    sha256_of,
)
from core.context import ActionContext
from core.models import AuditAction
from core.partitions import LOGS, Month, default_partition, months_of

MONTHS_AHEAD = 12


@dataclass
class EnsureReport:
    created: list[str]
    # Months whose rows are in the DEFAULT partition: "<partition>" for each.
    blocked: list[str]


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _bounds(month: Month) -> dict[str, str]:
    return {
        "start": f"{month.start:%Y-%m-%d %H:%M:%S}+00",
        "end": f"{month.end:%Y-%m-%d %H:%M:%S}+00",
    }


def partitions_ensure(
    *,
    months_ahead: int = MONTHS_AHEAD,
    since: Month | None = None,
    now: datetime | None = None,
) -> EnsureReport:
    """Creates the missing partitions of both logs from ``since`` (default: this month) to
    ``months_ahead`` months after this one."""
    this_month = Month.of(now or timezone.now())
    first = min(since or this_month, this_month)
    months = []
    month = first
    while month <= this_month.following(months_ahead):
        months.append(month)
        month = month.following()
    report = EnsureReport(created=[], blocked=[])
    for table in LOGS:
        existing = set(months_of(table))
        for month in months:
            if month in existing:
                continue
            if _create_month(table, month):
                report.created.append(month.partition_of(table))
            else:
                report.blocked.append(month.partition_of(table))
    return report


@transaction.atomic(durable=True)
def _create_month(table: str, month: Month) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql.PARTITION_LOCK_TIMEOUT)
        cursor.execute(
            sql.DEFAULT_HOLDS_MONTH.format(partition=_quoted(default_partition(table))),
            [month.start, month.end],
        )
        if cursor.fetchone()[0]:
            return False
        cursor.execute(
            sql.CREATE_MONTH_PARTITION.format(
                table=_quoted(table), partition=_quoted(month.partition_of(table)), **_bounds(month)
            )
        )
    return True


def months_to_archive(*, before: Month, tables: tuple[str, ...] = LOGS) -> list[tuple[str, Month]]:
    """(table, month) of every partition wholly before ``before``, oldest first."""
    return [(table, month) for table in tables for month in months_of(table) if month < before]


@dataclass(frozen=True)
class ArchivedMonth:
    table: str
    month: Month
    rows: int
    backup: Backup


def partition_archive(
    *,
    table: str,
    month: Month,
    directory: Path,
    key: bytes | None,
    actor: Any,
    context: ActionContext,
) -> ArchivedMonth:
    """Detaches, dumps (checksummed, and sealed with ``key`` if given), checks and drops one
    month of one log; see the module's docstring."""
    partition = month.partition_of(table)
    _detach(table, partition)
    try:
        archived = _dump_detached(table, month, directory, key)
    except BaseException:
        _attach(table, month)
        raise
    _drop(archived, actor=actor, context=context)
    return archived


@transaction.atomic(durable=True)
def _detach(table: str, partition: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.PARTITION_LOCK_TIMEOUT)
        cursor.execute(
            sql.DETACH_PARTITION.format(table=_quoted(table), partition=_quoted(partition))
        )


@transaction.atomic(durable=True)
def _attach(table: str, month: Month) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.ATTACH_MONTH_PARTITION.format(
                table=_quoted(table), partition=_quoted(month.partition_of(table)), **_bounds(month)
            )
        )


def _dump_detached(table: str, month: Month, directory: Path, key: bytes | None) -> ArchivedMonth:
    partition = month.partition_of(table)
    with connection.cursor() as cursor:
        # Detached, the table takes no more writes: this is the count the dump holds.
        cursor.execute(sql.COUNT_ROWS.format(partition=_quoted(partition)))
        rows = cursor.fetchone()[0]
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    backup = Backup(directory / f"{partition}-{stamp:%Y%m%dT%H%M%S%fZ}.json")
    partial = backup.archive_path.with_suffix(".dump.partial")
    try:
        database = settings.DATABASES["default"]
        dump(conninfo_of(database), partial, [f"--table=public.{partition}"], key=key)
        checksum = sha256_of(partial)
        partial.replace(backup.archive_path)
        backup.write_manifest(
            {
                "format": MANIFEST_FORMAT,
                "database": database["NAME"],
                "created_at": stamp.isoformat(),
                "archive": backup.archive_path.name,
                "sha256": checksum,
                "size": backup.archive_path.stat().st_size,
                "encryption": (
                    {"scheme": ENCRYPTION_SCHEME, "key": key_fingerprint(key)} if key else None
                ),
                "tables": {partition: rows},
                "migrations": [],
                "archived": {
                    "table": table,
                    "month": str(month),
                    "from": month.start.isoformat(),
                    "to": month.end.isoformat(),
                },
            }
        )
        # Read back from the disk before anything is dropped.
        if sha256_of(backup.archive_path) != backup.manifest()["sha256"]:
            raise OSError(f"{backup.archive_path} does not read back as written")
    except BaseException:
        partial.unlink(missing_ok=True)
        backup.remove()
        raise
    return ArchivedMonth(table=table, month=month, rows=rows, backup=backup)


@transaction.atomic(durable=True)
def _drop(archived: ArchivedMonth, *, actor: Any, context: ActionContext) -> None:
    partition = archived.month.partition_of(archived.table)
    with connection.cursor() as cursor:
        cursor.execute(sql.DROP_TABLE.format(partition=_quoted(partition)))
    audit.record(
        action=AuditAction.LOG_MONTH_ARCHIVED,
        actor=actor,
        target=None,
        after={
            "table": archived.table,
            "month": str(archived.month),
            "rows": archived.rows,
            "archive": archived.backup.archive_path.name,
            "sha256": archived.backup.manifest()["sha256"],
        },
        context=context,
    )
