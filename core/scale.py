"""The audit trail and the event log in bulk, for benchmarks of the staff console:
``manage.py seed_demo --scale`` and bench/bench_changelists.py (1 million rows each by
default).

PostgreSQL generates every row (``INSERT ... SELECT`` over ``generate_series``, in batches of
their own transaction). The batches run with ``session_replication_role = replica``: both
tables refuse changes by trigger, and the event log's triggers (commit order, one NOTIFY per
row) would only cost time for rows nobody is listening for. Audit events spread over the past
year, with random ids; events take their ids from the table's identity, in time order, as
``publish`` writes them. The past year's months get their partitions first. ``VACUUM ANALYZE``
ends the load. Its SQL stays here: it is a loader's.

It also holds what every loader of a large table shares: ``indexes_deferred`` drops the
tables' secondary indexes, unique constraints and foreign keys (those pointing at them too)
for the load and builds them again afterwards from their saved definitions, each in one sort
rather than millions of random insertions. The definitions are kept in the table
``scale_pending_ddl`` until they are built, in the transaction that drops them, so a load
that is interrupted (or killed) is repaired by ``rebuild_deferred_indexes`` (``manage.py
seed_chat_scale --repair``) and every loader refuses to start until then. Primary keys stay:
dropping one means dropping every reference to it. The migrations still own the schema: what
is built again is exactly what was there, read from the catalog.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditAction
from .partitions import Month
from .postgres import direct_conninfo
from .services.partitions import partitions_ensure

BATCH = 100_000
_YEAR_SECONDS = 365 * 86_400

_AUDIT_SQL = """
INSERT INTO audit_events
    (id, occurred_at, actor_id, action, target_type, target_id, before, after, ip_address,
     user_agent)
SELECT gen_random_uuid(),
       now() - ((%(total)s - s) * %(spacing)s) * interval '1 second',
       NULL, (%(actions)s::text[])[1 + s %% cardinality(%(actions)s::text[])],
       'accounts.user', md5('audit-target' || s)::uuid::text, NULL, NULL, '192.0.2.1',
       'scale'
  FROM generate_series(%(first)s, %(last)s) AS s
"""
_EVENTS_SQL = """
INSERT INTO events (occurred_at, type, object_type, object_id, payload, audience_kind,
                    audience_key)
SELECT now() - ((%(total)s - s) * %(spacing)s) * interval '1 second',
       'message.posted', 'chat.message', s::text, '{}'::jsonb, 'user', md5('user' || s %% 1000)
  FROM generate_series(%(first)s, %(last)s) AS s
 ORDER BY s
"""


def _load(
    statement: str, *, rows: int, label: str, progress: Callable[[str], object], **params
) -> None:
    started = time.monotonic()
    with connection.cursor() as cursor:
        for first in range(0, rows, BATCH):
            last = min(first + BATCH, rows) - 1
            with transaction.atomic(durable=True):
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute(
                    statement,
                    {
                        "first": first,
                        "last": last,
                        "total": rows,
                        "spacing": _YEAR_SECONDS / rows,
                        **params,
                    },
                )
            progress(f"  {label} {last + 1:,}/{rows:,} ({time.monotonic() - started:.0f}s)")


def audit_scale_load(
    *,
    audit_events: int = 1_000_000,
    events: int = 1_000_000,
    progress: Callable[[str], object] = lambda line: None,
) -> None:
    """Adds ``audit_events`` audit rows and ``events`` event-log rows (over the past year)."""
    # The past year's months get partitions of their own rather than the DEFAULT one.
    partitions_ensure(since=Month.of(timezone.now() - timedelta(seconds=_YEAR_SECONDS)))
    _load(
        _AUDIT_SQL,
        rows=audit_events,
        label="audit events",
        progress=progress,
        actions=list(AuditAction.values),
    )
    _load(_EVENTS_SQL, rows=events, label="events", progress=progress)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_events, events")


# --- secondary indexes and constraints, dropped and built again around a bulk load ----------

PENDING_DDL_TABLE = "scale_pending_ddl"
PENDING_REFUSAL = (
    "A previous load left indexes to build again; run `manage.py seed_chat_scale --repair` first."
)

_PENDING_DDL_SQL = f"""
    CREATE TABLE IF NOT EXISTS {PENDING_DDL_TABLE} (
        position int PRIMARY KEY, drop_sql text NOT NULL, create_sql text NOT NULL
    )
"""

# Foreign keys on the tables and those referencing them; then their unique constraints, then
# their plain indexes: the order they can be dropped in (a foreign key needs the unique index
# it references). %(tables)s: the tables' names.
_DEFERRABLE_SQL = """
    SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', c.conrelid::regclass, c.conname),
           format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid)),
           1 AS stage
    FROM pg_constraint c
    WHERE c.contype = 'f' AND (c.conrelid = ANY(%(tables)s::regclass[])
                               OR c.confrelid = ANY(%(tables)s::regclass[]))
    UNION ALL
    SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', c.conrelid::regclass, c.conname),
           format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid)),
           2
    FROM pg_constraint c
    WHERE c.conrelid = ANY(%(tables)s::regclass[]) AND c.contype = 'u'
    UNION ALL
    SELECT format('DROP INDEX %%s', i.oid::regclass), pg_get_indexdef(i.oid), 3
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    WHERE x.indrelid = ANY(%(tables)s::regclass[]) AND NOT x.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
    ORDER BY 3
"""


@contextmanager
def loading_session() -> Iterator[psycopg.Connection]:
    """A connection of the loader's own, straight to PostgreSQL (its SETs would leak into a
    pooler's shared server connections), tuned for bulk writes and index builds."""
    with psycopg.connect(direct_conninfo(), autocommit=True) as db:
        db.execute("SET synchronous_commit = off")
        db.execute("SET maintenance_work_mem = '1GB'")
        db.execute("SET max_parallel_maintenance_workers = 2")
        yield db


def pending_refusal() -> str | None:
    """Why no load may start now (an interrupted one left indexes to build), or None."""
    with psycopg.connect(direct_conninfo(), autocommit=True) as db:
        [(exists,)] = db.execute(
            "SELECT to_regclass(%s) IS NOT NULL", [PENDING_DDL_TABLE]
        ).fetchall()
        if not exists:
            return None
        [(pending,)] = db.execute(f"SELECT EXISTS (SELECT 1 FROM {PENDING_DDL_TABLE})").fetchall()
        return PENDING_REFUSAL if pending else None


def drop_deferrable(tables: Sequence[str], report: Callable[[str], object]) -> None:
    """Drops the tables' secondary indexes and constraints, recording how to build each
    again in the same transaction."""
    with loading_session() as db:
        db.execute(_PENDING_DDL_SQL)
        with db.transaction():
            # Two loaders starting at once: the second waits here, then sees the first's rows.
            db.execute(f"LOCK TABLE {PENDING_DDL_TABLE} IN EXCLUSIVE MODE")
            [(pending,)] = db.execute(f"SELECT count(*) FROM {PENDING_DDL_TABLE}").fetchall()
            if pending:
                raise RuntimeError(PENDING_REFUSAL)
            objects = db.execute(_DEFERRABLE_SQL, {"tables": list(tables)}).fetchall()
            for position, (drop_sql, create_sql, _) in enumerate(objects):
                db.execute(
                    f"INSERT INTO {PENDING_DDL_TABLE} VALUES (%s, %s, %s)",
                    [position, drop_sql, create_sql],
                )
            for drop_sql, _, _ in objects:
                db.execute(drop_sql)
    report(f"dropped {len(objects)} indexes and constraints of {', '.join(tables)} for the load")


def rebuild_deferred_indexes(report: Callable[[str], object]) -> None:
    """Builds what ``drop_deferrable`` dropped: unique constraints and indexes first, two at a
    time (the slowest first, so the others share the other core), then the foreign keys,
    which need them."""
    with loading_session() as db:
        db.execute(_PENDING_DDL_SQL)
        pending = db.execute(
            f"SELECT position, create_sql FROM {PENDING_DDL_TABLE} ORDER BY position"
        ).fetchall()
    if not pending:
        return
    foreign_keys = [row for row in pending if "FOREIGN KEY" in row[1]]
    others = [row for row in pending if "FOREIGN KEY" not in row[1]]

    def build(row: tuple[int, str]) -> None:
        position, create_sql = row
        with loading_session() as db:
            started = time.monotonic()
            db.execute(create_sql)
            db.execute(f"DELETE FROM {PENDING_DDL_TABLE} WHERE position = %s", [position])
            report(f"  built in {time.monotonic() - started:.1f}s: {create_sql[:110]}")

    # GIN indexes (full-text search) are the slowest builds.
    others.sort(key=lambda row: "using gin" not in row[1].lower())
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(build, others))
    for row in foreign_keys:
        build(row)
    with loading_session() as db:
        db.execute(f"DROP TABLE {PENDING_DDL_TABLE}")


@contextmanager
def indexes_deferred(tables: Sequence[str], report: Callable[[str], object]) -> Iterator[None]:
    """Around a bulk load of ``tables``: their secondary indexes and constraints are dropped
    before and built again after, whether the load succeeded or not."""
    drop_deferrable(tables, report)
    started = time.monotonic()
    try:
        yield
    finally:
        report(f"load done in {time.monotonic() - started:.1f}s; building indexes again")
        started = time.monotonic()
        rebuild_deferred_indexes(report)
        report(f"indexes and constraints built again ({time.monotonic() - started:.1f}s)")
