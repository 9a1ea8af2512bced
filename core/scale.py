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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from .models import AuditAction
from .partitions import Month
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
       'accounts.user', s::text, NULL, NULL, '192.0.2.1', 'scale'
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
