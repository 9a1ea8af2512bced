"""Moving a document to the trash and back, in the admin or the API, is audited."""

import pytest

from core.context import SYSTEM
from core.models import AuditAction, AuditEvent
from documents import services
from tests.factories import DocumentFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def test_moderation_records_delete_and_restore(synced_roles):
    moderator = StaffUserFactory(roles=["admin"])
    document = DocumentFactory(title="Quarterly plan")

    services.document_moderate_delete(actor=moderator, document_id=document.pk, context=SYSTEM)
    services.document_moderate_restore(actor=moderator, document_id=document.pk, context=SYSTEM)

    events = AuditEvent.objects.filter(target_id=str(document.pk)).order_by("occurred_at")
    assert [(event.action, event.actor_id) for event in events] == [
        (AuditAction.DOCUMENT_DELETED, moderator.pk),
        (AuditAction.DOCUMENT_RESTORED, moderator.pk),
    ]
    assert events[0].before == {"title": "Quarterly plan", "version": document.version}
