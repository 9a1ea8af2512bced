"""manage.py purge_deleted: soft-deleted rows leave after their retention, with their
children, in batches; money records never do."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.models import Customer, Product
from chat.models import Conversation, Message, MessageReaction
from core.models import AuditAction, AuditEvent
from core.services.retention import soft_deletable_models
from documents.models import Document, DocumentVersion
from tests.billing.factories import InvoiceLineFactory
from tests.chat.factories import MessageReactionFactory
from tests.factories import (
    ConversationFactory,
    CustomerFactory,
    DocumentFactory,
    DocumentVersionFactory,
    InvoiceFactory,
    MessageFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def deleted_days_ago(row, days: float) -> None:
    type(row).all_objects.filter(pk=row.pk).update(deleted_at=timezone.now() - timedelta(days=days))


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_deleted", *args, stdout=out)
    return out.getvalue()


def test_rows_deleted_longer_ago_than_the_retention_go_with_their_children():
    old = ConversationFactory()
    message = MessageFactory(conversation=old)
    MessageReactionFactory(message=message)
    deleted_days_ago(old, 31)
    recent = ConversationFactory()
    deleted_days_ago(recent, 5)
    live = ConversationFactory()

    output = purge("--older-than", "30d")

    assert set(Conversation.all_objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert not Message.all_objects.filter(pk=message.pk).exists()
    assert not MessageReaction.objects.filter(message_id=message.pk).exists()
    assert "chat.conversation: 1 purged of 1 due" in output


def test_per_model_retention_comes_from_the_settings(settings):
    settings.SOFT_DELETE_RETENTION_DAYS = {"default": 30, "documents.document": 90}
    document = DocumentFactory()
    DocumentVersionFactory(document=document)
    deleted_days_ago(document, 60)
    conversation = ConversationFactory()
    deleted_days_ago(conversation, 60)

    purge()

    assert Document.all_objects.filter(pk=document.pk).exists()  # 60 < 90 days
    assert not Conversation.all_objects.filter(pk=conversation.pk).exists()

    deleted_days_ago(document, 91)
    purge()

    assert not Document.all_objects.filter(pk=document.pk).exists()
    assert not DocumentVersion.objects.filter(document_id=document.pk).exists()


def test_money_records_are_never_purged():
    billed = CustomerFactory()
    InvoiceFactory(customer=billed)
    unbilled = CustomerFactory()
    sold = ProductFactory()
    InvoiceLineFactory(product=sold)
    for row in (billed, unbilled, sold):
        deleted_days_ago(row, 400)

    output = purge("--older-than", "30d", "--batch-size", "1")

    assert Customer.all_objects.filter(pk=billed.pk).exists()
    assert not Customer.all_objects.filter(pk=unbilled.pk).exists()
    assert Product.all_objects.filter(pk=sold.pk).exists()
    assert "billing.customer: 1 purged of 2 due, 1 kept" in output
    assert "billing.product: 0 purged of 1 due, 1 kept" in output


def test_batches_cover_every_row_once_whatever_their_size():
    conversations = ConversationFactory.create_batch(7)
    for conversation in conversations:
        deleted_days_ago(conversation, 40)
    kept_customer = CustomerFactory()
    InvoiceFactory(customer=kept_customer)
    deleted_days_ago(kept_customer, 40)

    output = purge("--older-than", "30d", "--batch-size", "3")

    assert Conversation.all_objects.count() == 0
    assert "chat.conversation: 7 purged of 7 due" in output
    assert "billing.customer: 0 purged of 1 due, 1 kept" in output


def test_a_dry_run_counts_and_removes_nothing():
    conversation = ConversationFactory()
    deleted_days_ago(conversation, 40)

    output = purge("--older-than", "30d", "--dry-run")

    assert Conversation.all_objects.filter(pk=conversation.pk).exists()
    assert "chat.conversation: 1 due" in output
    assert "Dry run: nothing removed." in output
    assert not AuditEvent.objects.filter(action=AuditAction.DELETED_ROWS_PURGED).exists()


def test_a_real_run_is_one_audit_event_with_the_counts():
    conversation = ConversationFactory()
    deleted_days_ago(conversation, 40)

    purge("--older-than", "30d")

    (event,) = AuditEvent.objects.filter(action=AuditAction.DELETED_ROWS_PURGED)
    assert event.after["chat.conversation"]["purged"] == 1
    assert event.after["billing.customer"]["purged"] == 0


def test_children_are_purged_before_the_parents_they_point_at():
    order = [model._meta.label_lower for model in soft_deletable_models()]

    assert order.index("chat.message") < order.index("chat.conversation")


@pytest.mark.parametrize("value", ["thirty", "30m", "-1d"])
def test_a_malformed_retention_is_one_clear_error(value):
    with pytest.raises(CommandError, match="--older-than takes days or hours"):
        call_command("purge_deleted", f"--older-than={value}")
