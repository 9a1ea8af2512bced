import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from core import audit, sql
from core.api.context import action_context
from core.context import ActionContext
from core.models import AuditAction, AuditEvent
from tests.factories import AuditEventFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_record_keeps_actor_target_ip_and_user_agent():
    actor, target = UserFactory(), UserFactory()
    request = RequestFactory().post("/", HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="203.0.113.9")

    event = audit.record(
        action=AuditAction.ACCOUNT_UNLOCKED,
        actor=actor,
        target=target,
        context=action_context(request),
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.target_type, stored.target_id) == (
        actor,
        "accounts.user",
        str(target.pk),
    )
    assert (stored.ip_address, stored.user_agent) == ("203.0.113.9", "Mozilla/5.0")
    assert stored.occurred_at is not None


def test_the_database_refuses_to_update_an_audit_event():
    event = AuditEventFactory()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditAction.LOGIN_FAILED)


def test_the_database_refuses_to_delete_an_audit_event():
    event = AuditEventFactory()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_events WHERE id = %s", [event.pk])

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_record_sends_what_the_orms_create_would():
    with CaptureQueriesContext(connection) as created, transaction.atomic():
        AuditEvent.objects.create(action=AuditAction.ACCOUNT_UNLOCKED, after={"a": 1})
        transaction.set_rollback(True)
    [statement] = [q["sql"] for q in created.captured_queries if "audit_events" in q["sql"]]

    # The ORM's text has its values bound; the columns and what comes back must be the same.
    columns, _, rest = sql.INSERT_AUDIT_EVENT.partition(" VALUES ")
    returning = rest[rest.index(" RETURNING ") :]
    assert statement.startswith(columns + " VALUES ")
    assert statement.endswith(returning)


def test_record_keeps_what_it_is_given_as_the_orm_reads_it():
    actor = UserFactory()

    event = audit.record(
        action=AuditAction.PAYMENT_RECORDED,
        actor=actor,
        after={"amount": "5.00", "nested": {"ok": True}},
        context=ActionContext(ip_address="2001:db8::1", user_agent="curl/8"),
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.before, stored.after) == (
        actor,
        None,
        {"amount": "5.00", "nested": {"ok": True}},
    )
    assert (stored.ip_address, stored.user_agent, stored.target_type) == (
        "2001:db8::1",
        "curl/8",
        "",
    )
    assert stored.occurred_at == event.occurred_at
