"""Another service writing plain SQL gets every default from the database."""

import uuid

import pytest
from django.db import connection

from accounts.models import ApiSession
from tests import factories


def _insert(sql: str, params: list) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


pytestmark = pytest.mark.django_db


def test_inserting_a_user_with_email_and_hash_returns_every_default():
    row = _insert(
        "INSERT INTO users (email, password_hash) VALUES (%s, %s) RETURNING *",
        ["plain@example.com", "argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"],
    )

    assert isinstance(row["id"], uuid.UUID)
    assert row["verified"] is False
    assert row["totp_enabled"] is False
    assert row["failed_login_attempts"] == 0
    assert row["created_at"] is not None
    assert row["updated_at"] is not None
    assert row["is_active"] is True
    assert row["is_staff"] is False


# table -> (SQL with the minimal columns, a function building its parameters, defaulted columns)
MINIMAL_INSERTS = {
    "user_profiles": (
        "INSERT INTO user_profiles (user_id, display_name) VALUES (%s, 'Ana') RETURNING *",
        lambda: [factories.UserFactory().pk],
        {"created_at", "updated_at"},
    ),
    "roles": (
        "INSERT INTO roles (name) VALUES ('auditor') RETURNING *",
        list,
        {"id", "created_at"},
    ),
    "permissions": (
        "INSERT INTO permissions (name) VALUES ('reports.view_report') RETURNING *",
        list,
        {"id", "created_at"},
    ),
    "role_permissions": (
        "INSERT INTO role_permissions (role_id, permission_id) VALUES (%s, %s) RETURNING *",
        lambda: [factories.RoleFactory().pk, factories.PermissionFactory().pk],
        set(),
    ),
    "user_roles": (
        "INSERT INTO user_roles (user_id, role_id) VALUES (%s, %s) RETURNING *",
        lambda: [factories.UserFactory().pk, factories.RoleFactory().pk],
        set(),
    ),
    "sessions": (
        "INSERT INTO sessions (user_id, token, expires_at) "
        "VALUES (%s, 'digest', now() + interval '1 day') RETURNING *",
        lambda: [factories.UserFactory().pk],
        {"id", "metadata", "created_at", "last_accessed_at"},
    ),
    "api_keys": (
        "INSERT INTO api_keys (user_id, key, name) VALUES (%s, 'digest', 'ci') RETURNING *",
        lambda: [factories.UserFactory().pk],
        {"id", "created_at"},
    ),
    "conversations": (
        "INSERT INTO conversations (title) VALUES ('Launch') RETURNING *",
        list,
        {"id", "created_at", "updated_at"},
    ),
    "messages": (
        "INSERT INTO messages (conversation_id, sender_id, content, message_type) "
        "VALUES (%s, %s, 'hi', 'text') RETURNING *",
        lambda: [factories.ConversationFactory().pk, factories.UserFactory().pk],
        {"id", "metadata", "sent_at"},
    ),
    "participants": (
        "INSERT INTO participants (conversation_id, user_id, role) "
        "VALUES (%s, %s, 'member') RETURNING *",
        lambda: [factories.ConversationFactory().pk, factories.UserFactory().pk],
        {"joined_at"},
    ),
    "documents": (
        "INSERT INTO documents (owner_id, title, content) VALUES (%s, 'Plan', 'x') RETURNING *",
        lambda: [factories.UserFactory().pk],
        {"id", "version", "created_at", "updated_at"},
    ),
    "document_versions": (
        "INSERT INTO document_versions (document_id, version, content, created_by) "
        "VALUES (%s, 2, 'x', %s) RETURNING *",
        lambda: [factories.DocumentFactory().pk, factories.UserFactory().pk],
        {"id", "created_at"},
    ),
    "document_shares": (
        "INSERT INTO document_shares (document_id, user_id, permission_level) "
        "VALUES (%s, %s, 'viewer') RETURNING *",
        lambda: [factories.DocumentFactory().pk, factories.UserFactory().pk],
        {"id", "created_at"},
    ),
    "customers": (
        "INSERT INTO customers (name, email) VALUES ('Acme', 'ap@acme.example') RETURNING *",
        list,
        {"id", "created_at", "updated_at"},
    ),
    "products": (
        "INSERT INTO products (name, price) VALUES ('Seat', 9.50) RETURNING *",
        list,
        {"id", "active", "created_at", "updated_at"},
    ),
    "invoices": (
        "INSERT INTO invoices (customer_id, amount, status, due_date) "
        "VALUES (%s, 10, 'draft', now()) RETURNING *",
        lambda: [factories.CustomerFactory().pk],
        {"id", "created_at", "updated_at"},
    ),
    "payments": (
        "INSERT INTO payments (invoice_id, amount, status, provider) "
        "VALUES (%s, 5, 'pending', 'manual') RETURNING *",
        lambda: [factories.InvoiceFactory().pk],
        {"id", "metadata", "created_at"},
    ),
}


@pytest.mark.parametrize("table", sorted(MINIMAL_INSERTS))
def test_a_minimal_plain_sql_insert_gets_its_defaults_from_the_database(table):
    sql, params, defaulted = MINIMAL_INSERTS[table]

    row = _insert(sql, params())

    assert {column for column in defaulted if row[column] is None} == set()


def test_defaults_have_the_documented_values():
    product = _insert("INSERT INTO products (name, price) VALUES ('Seat', 1) RETURNING *", [])
    conversation = _insert("INSERT INTO conversations (title) VALUES ('t') RETURNING *", [])
    document = _insert(
        "INSERT INTO documents (owner_id, title, content) VALUES (%s, 't', 'c') RETURNING *",
        [factories.UserFactory().pk],
    )
    session = _insert(
        "INSERT INTO sessions (user_id, token, expires_at) VALUES (%s, 'd', now()) RETURNING *",
        [factories.UserFactory().pk],
    )

    assert product["active"] is True
    assert conversation["deleted_at"] is None
    assert document["version"] == 1
    # Django's connection hands jsonb to the ORM undecoded; read it back through the model.
    assert ApiSession.objects.get(pk=session["id"]).metadata == {}
