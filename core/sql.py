"""The SQL core writes for every service, as text free of Django (the outbox row, and an
Idempotency-Key's claim and stored answer, core.services.idempotency).

core.events.publish runs ``INSERT_EVENT`` through Django's connection; every benchmark floor
that stands in for a write (bench/floor_*.py) sends the very same text, with the parameters
``event_params`` builds for both, so the floor does the outbox write Atrium does. Values are
always bound parameters.
"""

import json
from collections.abc import Mapping
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


# What core.audit.record's ``AuditEvent.objects.create`` compiles to, for the floors whose
# endpoint writes an audit row. The ORM keeps writing it; tests/billing/test_floor.py holds
# this text to what Django really sends. Parameters: id, actor id, action, target type, target
# id, before (JSON), after (JSON), IP address, user agent.
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
