import psycopg
import pytest
from django.db import connection
from psycopg import sql


def problem_of(response) -> dict:
    """The problem body, after checking it is served as one."""
    assert response["Content-Type"] == "application/problem+json", response.content
    body = response.json()
    assert body["status"] == response.status_code
    return body


@pytest.fixture
def scratch_database(django_db_blocker):
    """The name of an empty database beside the test database, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_scratch"
    with django_db_blocker.unblock():
        params = {**connection.get_connection_params(), "dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_url(name: str) -> str:
    """A URL of the test server for the database ``name``."""
    database = connection.settings_dict
    user = database["USER"] or "postgres"
    return f"postgres://{user}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{name}"


@pytest.fixture
def missing_database(scratch_database, django_db_blocker):
    """The name of a database that does not exist yet, dropped afterwards if a test made it."""
    name = f"{scratch_database}_new"
    yield name
    with django_db_blocker.unblock():
        params = {**connection.get_connection_params(), "dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
