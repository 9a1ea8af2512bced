"""The SQL core writes for every service, as text free of Django (the outbox row, and an
Idempotency-Key's claim and stored answer, core.services.idempotency), and the page statement
that lets PostgreSQL build a list's JSON (``json_page``).

core.events.publish runs ``INSERT_EVENT`` through Django's connection; every benchmark floor
that stands in for a write (bench/floor_*.py) sends the very same text, with the parameters
``event_params`` builds for both, so the floor does the outbox write Atrium does. Values are
always bound parameters.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# One row of the events outbox (core.models.Event). The database supplies ``id`` and
# ``occurred_at``; migration core/0004's triggers take the commit-order lock and notify the
# listeners. Returns the id: the announcement's cursor.
INSERT_EVENT = (
    "INSERT INTO events (type, object_type, object_id, payload, actor_id, audience_kind,"
    " audience_key, request_id)"
    " VALUES (%(type)s, %(object_type)s, %(object_id)s, %(payload)s::jsonb, %(actor)s,"
    " %(audience_kind)s, %(audience_key)s, %(request_id)s)"
    " RETURNING id"
)


def event_params(
    *,
    type: str,
    object_type: str,
    object_id: str,
    payload: Mapping[str, Any],
    actor_id: str | None,
    audience_kind: str,
    audience_key: str,
    request_id: str,
) -> dict[str, Any]:
    """``INSERT_EVENT``'s parameters; ``payload`` goes as JSON text."""
    return {
        "type": type,
        "object_type": object_type,
        "object_id": object_id,
        "payload": json.dumps(payload),
        "actor": actor_id,
        "audience_kind": audience_kind,
        "audience_key": audience_key,
        "request_id": request_id,
    }


# The audit row of every write (core.audit.record), and the floors' whose endpoint writes one:
# exactly what ``AuditEvent.objects.create`` compiles to (tests/core/test_audit.py holds the
# two together, so a new column cannot be missed). Parameters: id, actor id, action, target
# type, target id, before (JSON), after (JSON), IP address, user agent.
INSERT_AUDIT_EVENT = (
    'INSERT INTO "audit_events" ("id", "occurred_at", "actor_id", "action", "target_type",'
    ' "target_id", "before", "after", "ip_address", "user_agent")'
    " VALUES (%s, DEFAULT, %s, %s, %s, %s, %s, %s, %s, %s)"
    ' RETURNING "audit_events"."id", "audit_events"."occurred_at",'
    ' "audit_events"."target_type", "audit_events"."target_id", "audit_events"."user_agent"'
)


# Claims an Idempotency-Key (user, key, fingerprint): returns a row when the key is new. A
# concurrent claim of the same key blocks on the unique index until the first transaction
# ends.
IDEMPOTENCY_CLAIM = (
    "INSERT INTO idempotency_keys (id, user_id, key, fingerprint)"
    " VALUES (gen_random_uuid(), %s, %s, %s)"
    " ON CONFLICT (user_id, key) DO NOTHING RETURNING id"
)

# Stores the answer of the write run under an Idempotency-Key, for its replays: status, the
# body as JSON text, user, key.
IDEMPOTENCY_STORE = (
    "UPDATE idempotency_keys SET response_status = %(status)s, response_body = %(body)s::jsonb"
    " WHERE user_id = %(user)s AND key = %(key)s"
)

# The read replica's health, asked of the replica itself (core/routing.py): still a standby,
# receiving WAL from the primary, and how far behind its replay is in seconds. Nothing left to
# replay means no lag, however long ago the last commit was; otherwise the lag is the age of
# the last transaction replayed (NULL before the first).
REPLICA_STATE = (
    "SELECT pg_is_in_recovery(),"
    " EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming'),"
    " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0"
    " ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8"
    " END"
)
# --- manage.py db_health (core/db_health.py) -------------------------------------------------
# Catalog queries of the current database: they read the statistics PostgreSQL already keeps
# (pg_class, pg_stats, the pg_stat_* views) and scan no table.
# Bloat is estimated, not measured (measuring reads every page, pgstattuple): the size the
# rows would take packed, from their count (reltuples) and their average width (pg_stats),
# against the pages the table holds. 24 bytes of page header per page, 23 of tuple header
# (rounded to 24) and a 4-byte line pointer per row. Tables not yet analyzed have no
# pg_stats rows and no estimate.
TABLE_BLOAT = """
WITH widths AS (
    SELECT tablename, sum((1 - null_frac) * avg_width) AS row_width
      FROM pg_stats
     WHERE schemaname = current_schema()
     GROUP BY tablename
), sizes AS (
    SELECT c.relname AS name,
           c.relpages::bigint * current_setting('block_size')::bigint AS actual_bytes,
           ceil(c.reltuples * (w.row_width + 28)
                * current_setting('block_size')::numeric
                / (current_setting('block_size')::numeric - 24))::bigint AS expected_bytes
      FROM pg_class c
      JOIN widths w ON w.tablename = c.relname
     WHERE c.relnamespace = current_schema()::regnamespace
       AND c.relkind = 'r' AND c.reltuples > 0
)
SELECT name, actual_bytes, greatest(actual_bytes - expected_bytes, 0) AS wasted_bytes
  FROM sizes
 WHERE actual_bytes >= %(min_bytes)s
 ORDER BY wasted_bytes DESC
"""

# B-tree indexes likewise: an index tuple is 8 bytes of header, the key columns' average width
# and a 4-byte line pointer, leaf pages filled to 90% (the default fillfactor). Indexes on
# expressions have no per-column statistics and are left out.
INDEX_BLOAT = """
WITH keys AS (
    SELECT i.indexrelid, i.indrelid, sum((1 - s.null_frac) * s.avg_width) AS key_width,
           bool_or(s.attname IS NULL) AS unknown_width
      FROM pg_index i
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      LEFT JOIN pg_stats s
             ON s.schemaname = current_schema() AND s.tablename = t.relname
            AND s.attname = a.attname
     WHERE t.relnamespace = current_schema()::regnamespace AND 0 <> ALL(i.indkey)
     GROUP BY i.indexrelid, i.indrelid
), sizes AS (
    SELECT c.relname AS name,
           c.relpages::bigint * current_setting('block_size')::bigint AS actual_bytes,
           ceil(c.reltuples * (k.key_width + 12) / 0.9
                * current_setting('block_size')::numeric
                / (current_setting('block_size')::numeric - 40))::bigint AS expected_bytes
      FROM keys k
      JOIN pg_class c ON c.oid = k.indexrelid
      JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
     WHERE NOT k.unknown_width AND c.reltuples > 0
)
SELECT name, actual_bytes, greatest(actual_bytes - expected_bytes, 0) AS wasted_bytes
  FROM sizes
 WHERE actual_bytes >= %(min_bytes)s
 ORDER BY wasted_bytes DESC
"""

# Never scanned since the statistics were reset, and not holding a constraint (a unique or
# primary key index works without being scanned).
UNUSED_INDEXES = """
SELECT s.indexrelname AS name, s.relname AS table_name,
       pg_relation_size(s.indexrelid) AS bytes
  FROM pg_stat_user_indexes s
  JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname = current_schema()
   AND s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
   AND pg_relation_size(s.indexrelid) >= %(min_bytes)s
 ORDER BY bytes DESC
"""

STATISTICS_SINCE = "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()"

# Left by a CREATE INDEX CONCURRENTLY that failed or was cancelled: written to on every
# insert, never read.
INVALID_INDEXES = """
SELECT c.relname AS name, t.relname AS table_name
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
 WHERE t.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid
 ORDER BY c.relname
"""

# Autovacuum's own trigger (threshold + scale factor * rows, the table's storage options
# first) passed, by enough dead rows to matter, and no vacuum for long: autovacuum is not
# keeping up with this table.
VACUUM_OVERDUE = """
WITH options AS (
    SELECT c.oid,
           coalesce((SELECT option_value::numeric FROM pg_options_to_table(c.reloptions)
                      WHERE option_name = 'autovacuum_vacuum_threshold'),
                    current_setting('autovacuum_vacuum_threshold')::numeric) AS threshold,
           coalesce((SELECT option_value::numeric FROM pg_options_to_table(c.reloptions)
                      WHERE option_name = 'autovacuum_vacuum_scale_factor'),
                    current_setting('autovacuum_vacuum_scale_factor')::numeric) AS scale_factor
      FROM pg_class c
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
)
SELECT s.relname AS name, s.n_dead_tup AS dead_rows,
       greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum
  FROM pg_stat_user_tables s
  JOIN options o ON o.oid = s.relid
 WHERE s.schemaname = current_schema()
   AND s.n_dead_tup > o.threshold + o.scale_factor * greatest(s.n_live_tup, 0)
   AND s.n_dead_tup >= %(min_dead_rows)s
   AND coalesce(greatest(s.last_vacuum, s.last_autovacuum), '-infinity')
       < now() - make_interval(secs => %(overdue_seconds)s)
 ORDER BY s.n_dead_tup DESC
"""

# Transactions of this database open longer than the limit, the session asking excepted: they
# hold back vacuum everywhere and may hold locks.
LONG_TRANSACTIONS = """
SELECT pid, usename AS role, state, extract(epoch FROM now() - xact_start) AS seconds,
       left(query, 120) AS query
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
   AND now() - xact_start > make_interval(secs => %(limit_seconds)s)
 ORDER BY xact_start
"""

# Connections to the whole server (max_connections is the server's), less the slots kept for
# superusers.
CONNECTIONS = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used,
       current_setting('max_connections')::int
         - current_setting('superuser_reserved_connections')::int AS available
"""

CACHE_HIT = """
SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()
"""

# How near the oldest unfrozen transaction id is to wraparound (PostgreSQL stops accepting
# writes at about 2^31; autovacuum freezes from autovacuum_freeze_max_age, 200 million).
TRANSACTION_ID_AGE = "SELECT age(datfrozenxid) FROM pg_database WHERE datname = current_database()"

REINDEX_CONCURRENTLY = "REINDEX INDEX CONCURRENTLY {}"


# --- Monthly partitions of the logs (core/partitions.py, core/services/partitions.py) --------
# ``{table}`` and ``{partition}`` are names the code builds from its own constants (the two
# logs and a month), quoted by the caller; values are bound parameters where PostgreSQL takes
# them (DDL takes none: its bounds are literals the code formats from a date).

IS_PARTITIONED = (
    "SELECT coalesce((SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)), false)"
)

PARTITIONS = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname
"""

CREATE_MONTH_PARTITION = (
    "CREATE TABLE {partition} PARTITION OF {table} FOR VALUES FROM ('{start}') TO ('{end}')"
)
ATTACH_MONTH_PARTITION = (
    "ALTER TABLE {table} ATTACH PARTITION {partition} FOR VALUES FROM ('{start}') TO ('{end}')"
)
DETACH_PARTITION = "ALTER TABLE {table} DETACH PARTITION {partition}"
DROP_TABLE = "DROP TABLE {partition}"
COUNT_ROWS = "SELECT count(*) FROM {partition}"

# Creating, attaching or detaching a partition takes a lock on the log that every writer
# queues behind: never wait long for it (the next run tries again).
PARTITION_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '5s'"

# Rows of a month in the DEFAULT partition keep that month's partition from being created.
DEFAULT_HOLDS_MONTH = (
    "SELECT EXISTS (SELECT 1 FROM {partition} WHERE occurred_at >= %s AND occurred_at < %s)"
)
DEFAULT_ROWS = "SELECT count(*), min(occurred_at), max(occurred_at) FROM {partition}"

# How far back the live rows go (each partition's index on occurred_at answers it).
OLDEST_ROW = "SELECT min(occurred_at) FROM {table}"


# --- lists whose JSON PostgreSQL builds (core.api.pagination.CursorPagination.json_page) -----


def iso_timestamp(column: str) -> str:
    """A timestamptz as DRF's DateTimeField writes it: UTC, ISO 8601 ending in ``Z``, with
    microseconds only when there are some (``datetime.isoformat``); NULL stays NULL."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"""(to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS')"""
        f" || CASE WHEN date_trunc('second', {column}) = {column} THEN ''"
        f" ELSE to_char({utc}, '.US') END || 'Z')"
    )


def money(column: str) -> str:
    """A DECIMAL(10,2) as DRF's DecimalField writes it: a string with both decimals."""
    return f"({column})::text"


@dataclass(frozen=True)
class RowJSON:
    """How one row of a list is written as JSON: the columns the row's query must select
    (by the names the ORM's ``values()`` gives them), and the select list over them (each
    ``r.<column>``) whose ``row_to_json`` is the object, its keys named and ordered as the
    output serializer's fields."""

    columns: tuple[str, ...]
    sql: str


@lru_cache(maxsize=256)
def json_page(inner: str, row: RowJSON, ordering: tuple[str, ...], reverse: bool) -> str:
    """One statement answering a page: ``inner`` selects the page's rows plus one (ordered by
    ``ordering``, names with ``-`` for descending, the walk the cursor goes), and this answers
    one row: the first ``page size`` rows written by ``row`` as the text of a JSON array (in
    the walk's order, or the reverse of it when ``reverse``), how many rows ``inner`` found,
    then the ordering values of the first and of the last row shown, in the walk's order.

    The rows are numbered by the ordering itself rather than by the order a subquery happens
    to produce them in. Parameters: ``inner``'s, then the page size.
    """
    names = [name.lstrip("-") for name in ordering]
    walk = ", ".join(
        f'r."{name.lstrip("-")}" {"DESC" if name.startswith("-") else "ASC"}' for name in ordering
    )
    ends = ", ".join(
        f'(SELECT r."{name}" FROM shown r ORDER BY r.page_row {way} LIMIT 1)'
        for way in ("ASC", "DESC")
        for name in names
    )
    return (
        f"WITH page AS (SELECT r.*, row_number() OVER (ORDER BY {walk}) AS page_row"
        f" FROM ({inner}) r),"
        " shown AS (SELECT * FROM page WHERE page_row <= %s)"
        f" SELECT '[' || coalesce((SELECT string_agg((SELECT row_to_json(j)::text"
        f" FROM (SELECT {row.sql}) j), ','"
        f" ORDER BY r.page_row{' DESC' if reverse else ''}) FROM shown r), '') || ']',"
        f" (SELECT count(*) FROM page), {ends}"
    )
