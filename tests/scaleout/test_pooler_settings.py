"""What lets DATABASE_URL point at PgBouncer in transaction mode, held for every alias: each
transaction may get another server connection, so nothing may live in one between
transactions (docs/scale-out.md)."""

import pytest
from django.db import connections
from django.db.backends.postgresql.base import ServerBindingCursor

from core.postgres import probe

pytestmark = pytest.mark.scaleout


@pytest.mark.parametrize("alias", ["default", "direct"])
def test_no_prepared_statement_or_server_side_cursor_outlives_a_transaction(alias):
    connection = connections[alias]
    params = connection.get_connection_params()

    assert params["prepare_threshold"] is None
    assert params["cursor_factory"] is not ServerBindingCursor
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True


@pytest.mark.django_db
def test_a_health_probe_bounds_its_statement_without_a_startup_parameter():
    params = connections["default"].get_connection_params()

    rows = probe(params, "SHOW statement_timeout", connect_timeout=2, statement_timeout_ms=1000)

    assert "options" not in params
    assert rows == [("1s",)]
