"""A wrong DATABASE_URL ends a command with status 1 and one line saying what is wrong, never a
traceback: `make demo` and `make test` start with `ensure_database`, a deployment with
`migrate`."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
DATABASE = settings.DATABASES["default"]
SERVER = f"{DATABASE['HOST'] or '127.0.0.1'}:{DATABASE['PORT'] or 5432}"
USER = DATABASE["USER"] or "postgres"


def _manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    environment["DATABASE_URL"] = database_url
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line_failure(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("database_url", "says"),
    [
        ("not a url", "DATABASE_URL is not a database URL"),
        ("postgres://atrium@localhost:port/atrium", "DATABASE_URL cannot be parsed"),
        ("postgres://atrium@localhost:5432/", "DATABASE_URL names no database"),
    ],
)
def test_an_unparsable_database_url_is_one_line(database_url, says):
    line = _one_line_failure(_manage(database_url, "ensure_database"))

    assert line.startswith(says)
    assert "postgres://user:password@host:5432/name" in line


@pytest.mark.parametrize("command", ["ensure_database", "migrate"])
def test_another_database_engine_is_one_line_without_the_password(command):
    line = _one_line_failure(_manage("mysql://atrium:s3cret@127.0.0.1:3306/atrium", command))

    assert "points at mysql, but Atrium runs on PostgreSQL only" in line
    assert "s3cret" not in line


@pytest.mark.parametrize("options", [[], ["--server-only"]])
def test_a_refused_role_is_one_line_naming_the_role(options):
    result = _manage(f"postgres://atrium_no_such_role@{SERVER}/atrium", "ensure_database", *options)

    line = _one_line_failure(result)
    assert line.startswith(f'PostgreSQL at {SERVER} refused the role "atrium_no_such_role"')
    assert "not answering" not in line


def test_a_server_that_does_not_answer_is_one_line():
    line = _one_line_failure(_manage(f"postgres://{USER}@127.0.0.1:1/atrium", "ensure_database"))

    assert line.startswith("PostgreSQL is not answering at 127.0.0.1:1")


def test_a_missing_database_is_one_line_for_migrate():
    name = f"{DATABASE['NAME']}_missing"

    line = _one_line_failure(_manage(f"postgres://{USER}@{SERVER}/{name}", "migrate"))

    assert line.startswith(f'PostgreSQL at {SERVER} has no database "{name}"')


def test_ensure_database_creates_a_missing_database_and_leaves_it_after():
    name = f"{DATABASE['NAME']}_created"
    url = f"postgres://{USER}@{SERVER}/{name}"
    try:
        first, second = _manage(url, "ensure_database"), _manage(url, "ensure_database")
    finally:
        with psycopg.connect(
            host=SERVER.split(":")[0],
            port=SERVER.split(":")[1],
            user=USER,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    assert (first.returncode, first.stdout, first.stderr) == (0, f"Created database {name}.\n", "")
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
