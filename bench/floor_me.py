"""The floor for ``GET /api/v1/me``: a bare WSGI function that does what Atrium must do for that
request and nothing more. It reads the Authorization header, digests the secret like
accounts.credentials.digest, runs the very lookup Atrium runs (SQL captured from Django, one
query joining the credential, its user and the profile) and answers with the same JSON body.

Run: DATABASE_URL=postgres://... gunicorn bench.floor_me:application -w 3
(bench/bench_auth.py starts it.)
"""

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import ClientCursor
from psycopg_pool import ConnectionPool

# The defaults of config/settings/base.py, which the bench does not change.
IDLE_TIMEOUT = timedelta(seconds=int(os.environ.get("SESSION_IDLE_TIMEOUT", 24 * 3600)))

_USER_COLUMNS = (
    '"users"."last_login", "users"."id", "users"."created_at", "users"."updated_at", '
    '"users"."email", "users"."password_hash", "users"."verified", "users"."totp_enabled", '
    '"users"."totp_secret", "users"."failed_login_attempts", "users"."locked_until", '
    '"users"."lockout_count", "users"."is_active", "users"."is_staff", "users"."is_superuser", '
    '"user_profiles"."user_id", "user_profiles"."display_name", "user_profiles"."avatar_url", '
    '"user_profiles"."bio", "user_profiles"."created_at", "user_profiles"."updated_at"'
)
_USER_JOINS = (
    'INNER JOIN "users" ON ({table}."user_id" = "users"."id") '
    'LEFT OUTER JOIN "user_profiles" ON ("users"."id" = "user_profiles"."user_id")'
)
# Both statements are what accounts.selectors sends, column for column (ORM .first() adds the
# ORDER BY), so the floor pays for the same rows and the same plan.
SESSION_SQL = (
    'SELECT "sessions"."id", "sessions"."user_id", "sessions"."token", "sessions"."expires_at", '
    '"sessions"."metadata", "sessions"."created_at", "sessions"."last_accessed_at", '
    + _USER_COLUMNS
    + ' FROM "sessions" '
    + _USER_JOINS.format(table='"sessions"')
    + ' WHERE ("sessions"."expires_at" > %s AND "sessions"."last_accessed_at" > %s '
    'AND "sessions"."token" = %s AND "users"."is_active") '
    'ORDER BY "sessions"."created_at" DESC LIMIT 1'
)
API_KEY_SQL = (
    'SELECT "api_keys"."id", "api_keys"."user_id", "api_keys"."key", "api_keys"."name", '
    '"api_keys"."expires_at", "api_keys"."created_at", "api_keys"."prefix", '
    '"api_keys"."scopes", "api_keys"."last_used_at", '
    + _USER_COLUMNS
    + ' FROM "api_keys" '
    + _USER_JOINS.format(table='"api_keys"')
    + ' WHERE (("api_keys"."expires_at" IS NULL OR "api_keys"."expires_at" > %s) '
    'AND "api_keys"."key" = %s AND "users"."is_active") '
    'ORDER BY "api_keys"."created_at" DESC LIMIT 1'
)
SESSION_COLUMN_COUNT = 7
API_KEY_COLUMN_COUNT = 9

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


def _me(user: tuple) -> dict[str, Any]:
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


def _lookup(authorization: str) -> tuple | None:
    """The user columns of the credential the header names, or None."""
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if not secret:
        return None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    now = datetime.now(UTC)
    scheme = scheme.lower()
    if scheme == "bearer":
        sql, params, skip = SESSION_SQL, (now, now - IDLE_TIMEOUT, digest), SESSION_COLUMN_COUNT
    elif scheme == "api-key":
        sql, params, skip = API_KEY_SQL, (now, digest), API_KEY_COLUMN_COUNT
    else:
        return None
    with pool.connection() as connection:
        row = connection.execute(sql, params).fetchone()
    return None if row is None else row[skip:]


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    user = _lookup(environ.get("HTTP_AUTHORIZATION", ""))
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
