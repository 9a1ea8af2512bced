"""The database cache's table comes from a migration, so `migrate` alone prepares a deployment."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient


def _database_cache(table: str) -> dict:
    return {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table}
    }


def _shape(table: str) -> tuple[list, list]:
    """Columns and index definitions, with the table's name taken out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, character_maximum_length, is_nullable "
            "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [table],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT replace(indexdef, %s, 'T') FROM pg_indexes WHERE tablename = %s "
            "ORDER BY indexname",
            [table, table],
        )
        indexes = [row[0] for row in cursor.fetchall()]
    return columns, indexes


@pytest.mark.django_db
def test_the_migrated_table_is_what_createcachetable_makes():
    with override_settings(CACHES=_database_cache("cache_reference")):
        call_command("createcachetable", verbosity=0)

    migrated = _shape(settings.DATABASE_CACHE_TABLE)

    assert migrated == _shape("cache_reference")
    assert len(migrated[0]) == 3
    assert len(migrated[1]) == 2  # the primary key and the expiry index


@pytest.mark.django_db
def test_throttled_requests_count_in_the_database_cache_after_migrate_alone():
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "2/min"}
    api = APIClient()
    with (
        override_settings(CACHES=_database_cache(settings.DATABASE_CACHE_TABLE)),
        override_settings(
            REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
        ),
    ):
        statuses = [
            api.post(
                "/api/v1/auth/login",
                {"email": "nobody@example.com", "password": "not-the-password"},
                format="json",
            ).status_code
            for _ in range(3)
        ]

    assert 500 not in statuses
    assert statuses[2] == 429


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_a_table_createcachetable_already_made():
    # A database set up before the migration existed, with `make demo`'s createcachetable.
    call_command("migrate", "core", "0003", verbosity=0)
    try:
        with override_settings(CACHES=_database_cache(settings.DATABASE_CACHE_TABLE)):
            call_command("createcachetable", verbosity=0)
            caches["default"].set("kept", "yes", timeout=60)
            call_command("migrate", "core", verbosity=0)

            assert caches["default"].get("kept") == "yes"
    finally:
        # Every app: going back to core 0003 also undid migrations of others that depend on a
        # later core one (billing 0005 on core 0007).
        call_command("migrate", verbosity=0)
