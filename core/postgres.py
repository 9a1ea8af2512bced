"""Why a connection to PostgreSQL failed, in one line an operator can act on.

libpq reports a failed connection as text, without an SQLSTATE; the server's own refusal
follows ``FATAL:``. No ``FATAL:`` means nothing answered (refused, unreachable, unknown host).
"""

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql
from psycopg.conninfo import make_conninfo

EXAMPLE_URL = "postgres://user:password@host:5432/atrium"


# The database alias that reaches the primary past any pooler (DATABASE_DIRECT_URL, else
# DATABASE_URL; config/settings/base.py). Under the tests it mirrors the test database.
DIRECT_DB_ALIAS = "direct"


def direct_conninfo() -> str:
    """Where a connection that needs PostgreSQL itself goes (LISTEN, session settings, which a
    pooler in transaction mode cannot hold): the ``direct`` alias's database."""
    params = connections[DIRECT_DB_ALIAS].get_connection_params()
    # libpq's keywords (the URL's options such as sslmode included); Django adds Python objects
    # (cursor factory, adapters) for its own connections.
    return make_conninfo("", **{key: v for key, v in params.items() if isinstance(v, str | int)})


def server_of(database: Mapping[str, Any]) -> str:
    return f"{database.get('HOST') or 'localhost'}:{database.get('PORT') or 5432}"


def server_reason(error: Exception) -> str | None:
    """What the server said when it refused the connection, or None if nothing answered."""
    _, fatal, reason = str(error).partition("FATAL:")
    return " ".join(reason.split()) if fatal else None


def is_missing_database(error: Exception, name: str) -> bool:
    return server_reason(error) == f'database "{name}" does not exist'


def describe_connection_failure(
    error: Exception, database: Mapping[str, Any], *, setting: str = "DATABASE_URL"
) -> str:
    """One line for a failed connection to ``database`` (a DATABASES entry), whose URL came
    from ``setting``."""
    server, name = server_of(database), database.get("NAME")
    user = database.get("USER") or "(the operating-system user)"
    reason = server_reason(error)
    if reason is None:
        lines = str(error).strip().splitlines()
        cause = lines[0] if lines else "no answer"
        return (
            f"PostgreSQL is not answering at {server} ({cause}). Start it, or point {setting} "
            f"at one that answers, e.g. {EXAMPLE_URL}"
        )
    if is_missing_database(error, str(name)):
        return (
            f'PostgreSQL at {server} has no database "{name}". Create it (manage.py '
            f"ensure_database does), or point {setting} at an existing one."
        )
    if "authentication" in reason or "role" in reason or "pg_hba.conf" in reason:
        return (
            f'PostgreSQL at {server} refused the role "{user}" ({reason}). Check the user and '
            f"password in {setting}, e.g. {EXAMPLE_URL}"
        )
    return f"PostgreSQL at {server} refused the connection ({reason})."


def create_database(conninfo: Mapping[str, Any]) -> None:
    """Creates ``conninfo``'s database (libpq keywords) on its server; raises psycopg.Error."""
    # The maintenance database always exists, whether or not ours does yet.
    with psycopg.connect(
        **{**conninfo, "dbname": "postgres"}, connect_timeout=5, autocommit=True
    ) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(conninfo["dbname"])))


def probe(
    params: Mapping[str, Any], statement: str, *, connect_timeout: int, statement_timeout_ms: int
) -> list[tuple[Any, ...]]:
    """``statement``'s rows, on a connection of its own (``params``: a Django alias's
    connection parameters) that gives up quickly: a health check must answer at once, not after
    a pool's wait or a hung server. The statement timeout is the transaction's own (SET LOCAL),
    not a startup parameter, which PgBouncer refuses; raises psycopg.Error."""
    with (
        # The settings carry a connect_timeout of their own; the check's wins.
        psycopg.connect(**{**params, "connect_timeout": connect_timeout}, autocommit=True) as db,
        db.transaction(),
    ):
        db.execute("SELECT set_config('statement_timeout', %s, true)", [str(statement_timeout_ms)])
        return db.execute(statement).fetchall()


@contextmanager
def configuration_errors_in_one_line(*, traceback: bool = False) -> Iterator[None]:
    """Around a management command: a wrong setting, or a database that cannot be connected
    to, ends the process with one line on stderr and status 1 instead of a traceback (unless
    ``traceback``, Django's ``--traceback``)."""
    from django.db import OperationalError, connections

    try:
        yield
    except ImproperlyConfigured as error:
        if traceback:
            raise
        sys.exit(" ".join(str(error).split()))
    except OperationalError as error:
        # With no connection open, the error is the connection's own failure; a failure later
        # on (a statement, a lost server) keeps its traceback.
        if traceback or connections["default"].connection is not None:
            raise
        sys.exit(describe_connection_failure(error, settings.DATABASES["default"]))


def connection_lost(wrapper: BaseDatabaseWrapper) -> bool:
    """Whether Django's connection has no live server behind it: never made (the server
    refused, or the pool found none in time) or broken since. A deadlock or a refused
    statement leaves it alive."""
    raw = wrapper.connection
    return raw is None or raw.closed or bool(getattr(raw, "broken", False))
