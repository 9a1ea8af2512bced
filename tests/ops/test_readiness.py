"""/readyz answers 503, naming the dependency, whenever a request would fail."""

from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from tests.ops.conftest import problem_of

DATABASE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": settings.DATABASE_CACHE_TABLE,
    }
}


def _redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.mark.django_db
def test_readyz_answers_when_the_database_and_cache_do(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_a_503_problem_when_the_database_does_not_answer(client):
    # Nothing listens on port 1: the check's own connection is refused.
    with mock.patch.dict(connection.settings_dict, {"PORT": "1"}):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert problem_of(response)["code"] == "database_unavailable"


@pytest.mark.django_db
def test_readyz_is_a_503_problem_on_a_database_never_migrated(client, scratch_database):
    with mock.patch.dict(connection.settings_dict, {"NAME": scratch_database}):
        response = client.get("/readyz")

    assert response.status_code == 503
    body = problem_of(response)
    assert body["code"] == "migrations_pending"
    assert "run manage.py migrate" in body["detail"]


@pytest.mark.django_db(transaction=True)
def test_readyz_is_a_503_problem_while_a_migration_is_pending(client):
    # The code carries a migration the database has not recorded, as after a deployment that
    # forgot `migrate`.
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'core' AND name = %s RETURNING applied",
            ["0005_database_cache_table"],
        )
        (applied,) = cursor.fetchone()
    try:
        response = client.get("/readyz")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES ('core', %s, %s)",
                ["0005_database_cache_table", applied],
            )

    assert response.status_code == 503
    body = problem_of(response)
    assert body["code"] == "migrations_pending"
    assert "core.0005_database_cache_table" in body["detail"]
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
@override_settings(CACHES=DATABASE_CACHE)
def test_readyz_answers_with_the_database_cache_after_migrate_alone(client):
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
@override_settings(CACHES=DATABASE_CACHE)
def test_readyz_is_a_503_problem_when_the_cache_table_is_missing(client):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {settings.DATABASE_CACHE_TABLE}")  # rolled back after

    response = client.get("/readyz")

    assert response.status_code == 503
    body = problem_of(response)
    assert body["code"] == "cache_unavailable"
    assert settings.DATABASE_CACHE_TABLE in body["detail"]


@pytest.mark.django_db
@override_settings(CACHES=_redis_cache("redis://127.0.0.1:6379/0"))
def test_readyz_answers_with_redis(client):
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
@override_settings(CACHES=_redis_cache("redis://127.0.0.1:1/0"))
def test_readyz_stays_ready_but_degraded_when_redis_does_not_answer(client):
    # Throttles fail open but for the sensitive scopes (tests/core/test_redis_outage.py).
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["cache"] == "unavailable"
