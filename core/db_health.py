"""What ``manage.py db_health`` checks, from PostgreSQL's own statistics (the SQL is in
core/sql.py), and the one repair it makes.

Each check gives a ``Check``: its lines for the report, and whether a human is needed. The
limits say when: they are deliberately loose, so a healthy database reports nothing to do.
Unused indexes are listed but never need a human by themselves: statistics reset with the
server's, and an index that serves a monthly report is idle most of the month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.utils import timezone

from . import sql
from .partitions import LOGS, Month, default_rows, is_partitioned, live_since, months_of

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    # Relations smaller than this are left out of the bloat and unused lists.
    min_bytes: int = 10 * MIB
    # Bloat needs a human past both: this share of the relation, and this many bytes.
    bloat_share: float = 0.5
    bloat_bytes: int = 100 * MIB
    vacuum_overdue_seconds: int = 24 * 3600
    # Fewer dead rows than this cost nothing worth a human's time, vacuumed or not.
    vacuum_min_dead_rows: int = 10_000
    long_transaction_seconds: int = 300
    connections_share: float = 0.8
    # Judged only once this many blocks were read, so a cold start does not count.
    cache_hit_ratio: float = 0.95
    cache_min_reads: int = 10_000
    # autovacuum_freeze_max_age is 200 million by default; wraparound comes near 2^31.
    transaction_id_age: int = 1_000_000_000
    # The logs' partitions must be ready this many months past the current one.
    partition_months_ahead: int = 2


@dataclass
class Check:
    title: str
    lines: list[str] = field(default_factory=list)
    needs_human: bool = False


def _rows(statement: str, params: dict | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or {})
        return cursor.fetchall()


def _mib(size: int) -> str:
    return f"{size / MIB:,.1f} MiB"


def _bloat(title: str, statement: str, limits: Limits) -> Check:
    check = Check(title)
    for name, actual, wasted in _rows(statement, {"min_bytes": limits.min_bytes}):
        share = wasted / actual if actual else 0
        bad = share >= limits.bloat_share and wasted >= limits.bloat_bytes
        check.needs_human |= bad
        check.lines.append(
            f"{name}: {_mib(actual)}, about {_mib(wasted)} ({share:.0%}) reclaimable"
            + (
                " — rebuild it (VACUUM FULL or pg_repack for a table, REINDEX for an index)"
                if bad
                else ""
            )
        )
    return check


def unused_indexes(limits: Limits) -> Check:
    (since,) = _rows(sql.STATISTICS_SINCE)[0]
    started = f" since {since:%Y-%m-%d %H:%M} UTC" if isinstance(since, datetime) else ""
    check = Check(f"Indexes never scanned{started}")
    check.lines = [
        f"{name} on {table}: {_mib(size)}"
        for name, table, size in _rows(sql.UNUSED_INDEXES, {"min_bytes": limits.min_bytes})
    ]
    return check


def invalid_indexes() -> list[tuple[str, str]]:
    """(index, table) of every invalid index: a failed concurrent build's leftover."""
    return [(name, table) for name, table in _rows(sql.INVALID_INDEXES)]


def reindex_concurrently(index: str) -> None:
    """Rebuilds one index without blocking writes; must run outside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(sql.REINDEX_CONCURRENTLY.format(connection.ops.quote_name(index)))


def _invalid(found: list[tuple[str, str]]) -> Check:
    return Check(
        "Invalid indexes",
        [f"{name} on {table}: run db_health --reindex-invalid" for name, table in found],
        needs_human=bool(found),
    )


def _vacuum_overdue(limits: Limits) -> Check:
    rows = _rows(
        sql.VACUUM_OVERDUE,
        {
            "overdue_seconds": limits.vacuum_overdue_seconds,
            "min_dead_rows": limits.vacuum_min_dead_rows,
        },
    )
    return Check(
        "Tables overdue for vacuum",
        [
            f"{name}: {dead:,} dead rows, last vacuumed "
            + (f"{last:%Y-%m-%d %H:%M} UTC" if last else "never")
            for name, dead, last in rows
        ],
        needs_human=bool(rows),
    )


def _long_transactions(limits: Limits) -> Check:
    rows = _rows(sql.LONG_TRANSACTIONS, {"limit_seconds": limits.long_transaction_seconds})
    return Check(
        f"Transactions open longer than {limits.long_transaction_seconds}s",
        [
            f"pid {pid} ({role}, {state}) open {seconds:,.0f}s: {query}"
            for pid, role, state, seconds, query in rows
        ],
        needs_human=bool(rows),
    )


def _connections(limits: Limits) -> Check:
    used, available = _rows(sql.CONNECTIONS)[0]
    share = used / available if available else 1
    bad = share >= limits.connections_share
    return Check(
        "Connections",
        [
            f"{used} of {available} in use ({share:.0%})"
            + (" — close idle clients or raise max_connections" if bad else "")
        ],
        needs_human=bad,
    )


def _cache_hit(limits: Limits) -> Check:
    hits, reads = _rows(sql.CACHE_HIT)[0]
    total = hits + reads
    if reads < limits.cache_min_reads:
        return Check("Cache hit ratio", [f"too few reads to judge ({reads:,} from disk)"])
    ratio = hits / total
    bad = ratio < limits.cache_hit_ratio
    return Check(
        "Cache hit ratio",
        [
            f"{ratio:.2%} of {total:,} block reads from memory"
            + (" — shared_buffers or the machine's memory is short" if bad else "")
        ],
        needs_human=bad,
    )


def _transaction_id_age(limits: Limits) -> Check:
    (age,) = _rows(sql.TRANSACTION_ID_AGE)[0]
    bad = age >= limits.transaction_id_age
    return Check(
        "Transaction id age",
        [
            f"{age:,} of about 2,100,000,000 before wraparound"
            + (" — find what blocks autovacuum's freezing" if bad else "")
        ],
        needs_human=bad,
    )


def _log_partitions(limits: Limits) -> Check:
    check = Check("Log partitions (by month)")
    this_month = Month.of(timezone.now())
    for table in LOGS:
        if not is_partitioned(table):
            check.lines.append(f"{table}: not partitioned (run manage.py migrate)")
            check.needs_human = True
            continue
        months = months_of(table)
        ahead = sum(1 for month in months if month > this_month)
        since = live_since(table)
        line = (
            f"{table}: {len(months)} months"
            + (f" ({months[0]} to {months[-1]})" if months else "")
            + (f", live rows since {since:%Y-%m-%d}" if since else ", empty")
        )
        if ahead < limits.partition_months_ahead:
            check.needs_human = True
            line += f" — only {ahead} month(s) ahead: run manage.py ensure_partitions"
        check.lines.append(line)
        stray = default_rows(table)
        if stray.rows:
            check.needs_human = True
            check.lines.append(
                f"{table}_default holds {stray.rows:,} rows ({stray.oldest:%Y-%m-%d} to "
                f"{stray.newest:%Y-%m-%d}): months without a partition; see docs/operations.md"
            )
    return check


def run_checks(limits: Limits) -> list[Check]:
    return [
        _bloat("Table bloat (estimate)", sql.TABLE_BLOAT, limits),
        _bloat("Index bloat (estimate)", sql.INDEX_BLOAT, limits),
        unused_indexes(limits),
        _invalid(invalid_indexes()),
        _vacuum_overdue(limits),
        _long_transactions(limits),
        _connections(limits),
        _cache_hit(limits),
        _transaction_id_age(limits),
        _log_partitions(limits),
    ]
