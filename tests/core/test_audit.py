import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from core import audit
from core.api.context import action_context
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
