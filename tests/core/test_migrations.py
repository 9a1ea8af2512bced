import pytest
from django.core.management import call_command
from django.db import connection

OUR_APPS = ("core", "accounts", "chat", "documents", "billing")
CONTRACT_TABLES = {
    "users",
    "user_profiles",
    "roles",
    "permissions",
    "role_permissions",
    "user_roles",
    "sessions",
    "api_keys",
    "conversations",
    "messages",
    "participants",
    "documents",
    "document_versions",
    "document_shares",
    "customers",
    "products",
    "invoices",
    "payments",
}


def _tables() -> set[str]:
    return set(connection.introspection.table_names())


# makemigrations checks the history of every alias that migrates: `direct` too.
@pytest.mark.django_db(databases=["default", "direct"])
def test_models_and_migrations_agree():
    """``makemigrations --check`` exits non-zero when a model change has no migration."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_migrations_reverse_to_zero_and_apply_again():
    # Reverse in dependency order: every app's tables reference users.
    for app in reversed(OUR_APPS):
        call_command("migrate", app, "zero", verbosity=0)
    left_after_reverse = _tables() & (CONTRACT_TABLES | {"audit_events"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'atrium_%%'")
        (functions_left,) = cursor.fetchone()

    call_command("migrate", verbosity=0)

    assert left_after_reverse == set()
    assert functions_left == 0
    assert CONTRACT_TABLES | {"audit_events"} <= _tables()
