"""``updated_at`` moves on every update, whoever makes it."""

import pytest
from django.db import connection

from tests import factories
from tests.webhooks import factories as webhook_factories

pytestmark = pytest.mark.django_db

TABLES_WITH_UPDATED_AT = {
    "users": factories.UserFactory,
    "user_profiles": factories.UserProfileFactory,
    "conversations": factories.ConversationFactory,
    "documents": factories.DocumentFactory,
    "customers": factories.CustomerFactory,
    "products": factories.ProductFactory,
    "invoices": factories.InvoiceFactory,
    "webhook_endpoints": webhook_factories.WebhookEndpointFactory,
}


def test_the_list_covers_every_table_with_updated_at():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'updated_at'"
        )
        assert {row[0] for row in cursor.fetchall()} == set(TABLES_WITH_UPDATED_AT)


@pytest.mark.parametrize("table", sorted(TABLES_WITH_UPDATED_AT))
def test_a_plain_sql_update_moves_updated_at(table):
    instance = TABLES_WITH_UPDATED_AT[table]()
    pk_column = instance._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT updated_at FROM {table} WHERE {pk_column} = %s", [instance.pk])  # noqa: S608
        (before,) = cursor.fetchone()
        # Touch a column the statement does not name to be sure the trigger, not the
        # statement, moves updated_at.
        cursor.execute(
            f"UPDATE {table} SET created_at = created_at WHERE {pk_column} = %s "  # noqa: S608
            "RETURNING updated_at",
            [instance.pk],
        )
        (after,) = cursor.fetchone()

    assert after > before
