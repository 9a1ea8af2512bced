"""The audit trail and the event log become partitioned by month of ``occurred_at``
(declarative RANGE partitioning), so old months leave by ``manage.py archive`` (detach, dump,
drop) instead of by DELETE, and new months come from ``core.services.partitions``.

Each table is rebuilt: a partitioned twin with the same columns, defaults, identity and checks,
a partition per month from the oldest row's month to twelve months ahead plus a DEFAULT one
(a row of a month nobody created still lands somewhere), the rows copied, the old table
dropped and the twin renamed; then the old table's indexes and triggers are created again
from their own definitions (pg_get_indexdef, pg_get_triggerdef), so the partitions inherit
them: the append-only refusals, the events' commit-order lock and NOTIFY. The primary key
becomes (id, occurred_at), as PostgreSQL requires of a partitioned table's keys; ids stay
unique by making (events: one identity sequence, copied ids kept and the sequence moved past
them; audit events: random UUIDs). docs/schema.md records it.

The copy holds both tables locked: on a large existing log, purge or shrink it first, or run
this in a quiet hour. Reversible: the same rebuild into a plain table.
"""

from django.db import migrations

TABLES = ("audit_events", "events")
MONTHS_AHEAD = 12


def _definitions(cursor, table: str) -> tuple[list[str], list[str]]:
    """CREATE statements of the table's own indexes (its primary key aside) and triggers."""
    cursor.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY i.indexrelid
        """,
        [table],
    )
    # A partitioned table's index reads "ON ONLY <table>": recreated on a plain one, or on a
    # partitioned one whose partitions must get it too, it takes "ON <table>".
    indexes = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
    cursor.execute(
        """
        SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
        WHERE t.tgrelid = %s::regclass AND NOT t.tgisinternal AND t.tgparentid = 0
        ORDER BY t.oid
        """,
        [table],
    )
    return indexes, [row[0] for row in cursor.fetchall()]


def _rebuild(cursor, table: str, *, partitioned: bool) -> None:
    indexes, triggers = _definitions(cursor, table)
    twin = f"{table}_rebuilt"
    cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    partitioning = "PARTITION BY RANGE (occurred_at)" if partitioned else ""
    cursor.execute(
        f"CREATE TABLE {twin} (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY "
        f"INCLUDING CONSTRAINTS INCLUDING GENERATED) {partitioning}"
    )
    if partitioned:
        cursor.execute(
            f"""
            SELECT m::date FROM generate_series(
                date_trunc('month', coalesce((SELECT min(occurred_at) FROM {table}), now())
                                    AT TIME ZONE 'UTC'),
                date_trunc('month', now() AT TIME ZONE 'UTC') + interval '{MONTHS_AHEAD} months',
                interval '1 month') AS m
            """
        )
        for (month,) in cursor.fetchall():
            following = month.replace(
                year=month.year + month.month // 12, month=month.month % 12 + 1
            )
            cursor.execute(
                f"CREATE TABLE {table}_{month:%Y_%m} PARTITION OF {twin} FOR VALUES "
                f"FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{following:%Y-%m-%d} 00:00:00+00')"
            )
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {twin} DEFAULT")
    cursor.execute(f"INSERT INTO {twin} SELECT * FROM {table}")
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {twin} RENAME TO {table}")
    key = "id, occurred_at" if partitioned else "id"
    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({key})")
    for statement in indexes + triggers:
        cursor.execute(statement)
    cursor.execute(f"SELECT pg_get_serial_sequence('{table}', 'id') IS NOT NULL")
    if cursor.fetchone()[0]:
        # Copied ids were given, not drawn: the identity continues after the largest.
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce(max(id), 0) + 1, false) FROM {table}"
        )


def partition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            _rebuild(cursor, table, partitioned=True)


def unpartition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            _rebuild(cursor, table, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_audit_events_changelist_indexes"),
    ]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
