"""The floor for ``GET /api/v1/me``: a bare WSGI function that does what Atrium must do for that
request and nothing more. It reads the Authorization header, digests the secret like
accounts.credentials.digest, runs the very lookup Atrium runs (accounts/sql.py: one query
bringing the credential, its user, the profile and the permission names) and answers with the
same JSON body.

Run: DATABASE_URL=postgres://... gunicorn bench.floor_me:application -w 3
(bench/bench_auth.py starts it.)
"""

import hashlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg import ClientCursor
from psycopg_pool import ConnectionPool

# accounts/sql.py is plain Python; importing it runs no Django.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from accounts import sql

# The defaults of config/settings/base.py, which the bench does not change.
IDLE_TIMEOUT = timedelta(seconds=int(os.environ.get("SESSION_IDLE_TIMEOUT", 24 * 3600)))

# Django's psycopg backend binds parameters client-side (ClientCursor) and runs in autocommit;
# the floor does the same, so neither side gets server-side prepared statements or a
# transaction the other lacks. A sync worker serves one request at a time: one connection.
pool = ConnectionPool(
    os.environ["DATABASE_URL"],
    min_size=1,
    max_size=1,
    kwargs={"autocommit": True, "cursor_factory": ClientCursor},
    open=True,
)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _timestamp(value: datetime | None) -> str | None:
    # DRF's DateTimeField: ISO 8601 in UTC, written with a Z.
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def request_id(environ: dict[str, Any]) -> str:
    """core.api.context.action_context's request id, which the write floors put on the events
    row (core.sql.INSERT_EVENT) as Atrium does."""
    return (environ.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex)[:64]


class Caller(tuple):
    """The lookup's row from the user's columns on: user, profile, permission names."""

    @property
    def user_id(self):
        return self[1]

    @property
    def permission_names(self) -> list[str]:
        return self[-1]


def _me(user: Caller) -> dict[str, Any]:
    """accounts.api.serializers.MeOutput, from the user and profile columns."""
    (
        _last_login,
        user_id,
        created_at,
        _updated_at,
        email,
        _password_hash,
        verified,
        totp_enabled,
        _totp_secret,
        _failed_login_attempts,
        _locked_until,
        _lockout_count,
        _is_active,
        is_staff,
        _is_superuser,
        profile_user_id,
        display_name,
        avatar_url,
        bio,
        _profile_created_at,
        profile_updated_at,
        _permission_names,
    ) = user
    return {
        "id": str(user_id),
        "email": email,
        "verified": verified,
        "totp_enabled": totp_enabled,
        "is_staff": is_staff,
        "created_at": _timestamp(created_at),
        "profile": None
        if profile_user_id is None
        else {
            "display_name": display_name,
            "avatar_url": avatar_url,
            "bio": bio,
            "updated_at": _timestamp(profile_updated_at),
        },
    }


def caller_of(authorization: str) -> Caller | None:
    """The user, profile and permission columns of the credential the header names, or
    None."""
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if not secret:
        return None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    now = datetime.now(UTC)
    scheme = scheme.lower()
    if scheme == "bearer":
        statement, skip = sql.SESSION_LOOKUP, len(sql.SESSION_COLUMNS)
        params = {"digest": digest, "now": now, "idle_since": now - IDLE_TIMEOUT}
    elif scheme == "api-key":
        statement, skip = sql.API_KEY_LOOKUP, len(sql.API_KEY_COLUMNS)
        params = {"digest": digest, "now": now}
    else:
        return None
    with pool.connection() as connection:
        row = connection.execute(statement, params).fetchone()
    return None if row is None else Caller(row[skip:])


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    user = caller_of(environ.get("HTTP_AUTHORIZATION", ""))
    if user is None:
        body = b'{"status":401}'
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [body]
    # DRF's JSONRenderer: compact separators, non-ASCII left as UTF-8.
    body = json.dumps(_me(user), ensure_ascii=False, separators=(",", ":")).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
