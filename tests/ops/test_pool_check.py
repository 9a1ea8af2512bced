"""The pool's check of a connection it hands out (core/backends/postgresql/base.py): a
connection the server ended is replaced, a live one costs no round trip."""

import time

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connection

from core.backends.postgresql.base import DatabaseWrapper, server_ended

pytestmark = pytest.mark.django_db


@pytest.fixture
def pooled():
    """A Django connection of the test database through a pool of two connections, checked as
    production settings make it, with its own application name."""
    settings = {**connection.settings_dict, "CONN_HEALTH_CHECKS": True}
    pool = {"min_size": 2, "max_size": 2, "timeout": 0.5}
    settings["OPTIONS"] = {**settings["OPTIONS"], "application_name": "pool_check", "pool": pool}
    # Under the default alias, whose test connection has no pool (nor an entry in the pools
    # all wrappers share), so that type registration finds a connection of that name.
    wrapper = DatabaseWrapper(settings, alias=DEFAULT_DB_ALIAS)
    wrapper.pool.open()
    wrapper.pool.wait()
    yield wrapper
    wrapper.close()
    wrapper.close_pool()


def _backend_of(wrapper: DatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _server() -> psycopg.Connection:
    return psycopg.connect(**connection.get_connection_params(), autocommit=True)


def test_pooled_connections_the_server_ended_are_replaced_before_use(pooled):
    with _server() as server:
        ended = [
            pid
            for (pid,) in server.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'pool_check'"
            ).fetchall()
        ]
        server.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [ended])
        while server.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [ended]
        ).fetchone():
            time.sleep(0.01)

    # Both pooled connections are dead; the request still gets a live one within the pool's
    # timeout (psycopg's own check sleeps a second after the first dead one).
    backend = _backend_of(pooled)

    assert len(ended) == 2
    assert backend not in ended


def test_checking_a_live_connection_sends_nothing():
    with _server() as checked, _server() as server:
        pid = checked.pgconn.backend_pid

        def last_change():
            return server.execute(
                "SELECT state_change FROM pg_stat_activity WHERE pid = %s", [pid]
            ).fetchone()[0]

        before = last_change()

        assert not server_ended(checked)
        assert last_change() == before
        assert checked.execute("SELECT 1").fetchone() == (1,)
        assert last_change() > before
