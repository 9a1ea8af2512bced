"""manage.py db_health against the real PostgreSQL: what it finds, its exit status, and the
concurrent rebuild of invalid indexes."""

import contextlib
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection


def db_health(*args: str) -> str:
    out = StringIO()
    call_command("db_health", *args, stdout=out)
    return out.getvalue()


def needs_human(*args: str) -> tuple[str, str]:
    out = StringIO()
    with pytest.raises(CommandError) as refusal:
        call_command("db_health", *args, stdout=out)
    return out.getvalue(), str(refusal.value)


@pytest.fixture
def probe_table(django_db_blocker):
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE ops_probe (n int, padding text)")
    yield "ops_probe"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS ops_probe")


@pytest.mark.django_db(transaction=True)
def test_an_invalid_index_needs_a_human_until_rebuilt_concurrently(probe_table):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO ops_probe (n) VALUES (1), (1)")
        # A concurrent build that fails (here on a duplicate) leaves its index invalid.
        with pytest.raises(Exception, match="could not create unique index"):
            cursor.execute("CREATE UNIQUE INDEX CONCURRENTLY ops_probe_n ON ops_probe (n)")
        cursor.execute("DELETE FROM ops_probe WHERE ctid = (SELECT max(ctid) FROM ops_probe)")

    output, refusal = needs_human()
    assert "ops_probe_n on ops_probe: run db_health --reindex-invalid" in output
    assert refusal == "Needs a human: Invalid indexes."

    output = db_health("--reindex-invalid")
    assert "Rebuilding ops_probe_n on ops_probe concurrently" in output
    assert "Invalid indexes\n  nothing to report" in output
    assert "Healthy: nothing needs a human." in output
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ops_probe_n'::regclass")
        assert cursor.fetchone() == (True,)


@pytest.mark.django_db(transaction=True)
def test_a_transaction_left_open_elsewhere_needs_a_human():
    params = connection.get_connection_params()
    with psycopg.connect(**params) as other:
        other.execute("SELECT 1")  # psycopg opened a transaction and leaves it open
        pid = other.info.backend_pid

        output, refusal = needs_human("--long-transaction-seconds", "0")

    assert f"pid {pid} (" in output and "idle in transaction" in output
    assert "Transactions open longer than 0s" in refusal


@pytest.mark.django_db(transaction=True)
def test_bloat_is_estimated_from_the_statistics(probe_table):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ops_probe SELECT n, repeat('x', 200) FROM generate_series(1, 20000) n"
        )
        # Nine rows in ten go, from every page: the pages stay, the rows do not.
        cursor.execute("DELETE FROM ops_probe WHERE n % 10 <> 0")
        cursor.execute("ANALYZE ops_probe")

    # Its nine in ten dead rows may also make it overdue for vacuum: the report is what counts.
    out = StringIO()
    with contextlib.suppress(CommandError):
        call_command("db_health", "--min-size-mib", "1", stdout=out)
    output = out.getvalue()

    table_bloat = output.split("Table bloat (estimate)")[1].split("Index bloat")[0]
    line = next(line for line in table_bloat.splitlines() if "ops_probe" in line)
    share = int(line.split("(")[1].split("%")[0])
    assert share >= 80, line
