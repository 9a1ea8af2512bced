"""API sessions in bulk, for benchmarks of the staff console: ``manage.py seed_demo --scale``
and bench/bench_changelists.py (1 million sessions by default).

PostgreSQL generates every row (``INSERT ... SELECT`` over ``generate_series``, in batches of
their own transaction) for users the database already holds, spread by row number; tokens are
``sha256`` of the row number (no usable session: nobody knows a preimage). Sessions start over
the past year and expire 30 days later. The table's secondary indexes and foreign keys are
dropped for the load and built again after it (``core.scale.indexes_deferred``); ``VACUUM
ANALYZE`` ends the load. Its SQL stays here:
it is a loader's, not what requests send (accounts/sql.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection, transaction

from core.scale import indexes_deferred, pending_refusal

BATCH = 100_000

# The users, numbered once, so each generated session finds its user by arithmetic.
_NUMBER_USERS_SQL = """
CREATE TEMPORARY TABLE scale_session_users AS
SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id FROM users;
ALTER TABLE scale_session_users ADD PRIMARY KEY (n);
"""
_SESSIONS_SQL = """
INSERT INTO sessions (id, user_id, token, expires_at, metadata, created_at, last_accessed_at)
SELECT md5('session' || s)::uuid, u.id, encode(sha256(('session' || s)::bytea), 'hex'),
       created + interval '30 days', '{}'::jsonb, created,
       created + (s %% 86400) * interval '1 second'
  FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS s
  CROSS JOIN LATERAL (SELECT now() - ((s * 7919) %% 31536000) * interval '1 second') AS t(created)
  JOIN scale_session_users u ON u.n = s %% %(users)s
ON CONFLICT (id) DO NOTHING
"""


def sessions_scale_load(
    *, sessions: int = 1_000_000, progress: Callable[[str], object] = lambda line: None
) -> int:
    """Adds ``sessions`` sessions over the users the database holds (it needs some); returns
    how many rows were written. A second load adds no rows (the ids repeat)."""
    started = time.monotonic()
    written = 0
    if reason := pending_refusal():
        raise ValueError(reason)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM users")
        users = cursor.fetchone()[0]
        if not users:
            raise ValueError("Sessions need users: load some first (seed_chat_scale).")
        cursor.execute(_NUMBER_USERS_SQL)
        with indexes_deferred(["sessions"], progress):
            for first in range(0, sessions, BATCH):
                last = min(first + BATCH, sessions) - 1
                with transaction.atomic(durable=True):
                    cursor.execute("SET LOCAL synchronous_commit = off")
                    cursor.execute(_SESSIONS_SQL, {"first": first, "last": last, "users": users})
                    written += cursor.rowcount
                progress(
                    f"  sessions {last + 1:,}/{sessions:,} ({time.monotonic() - started:.0f}s)"
                )
        cursor.execute("DROP TABLE scale_session_users")
        cursor.execute("VACUUM ANALYZE sessions")
    return written
