"""Each rule the database holds refuses a violating row on its own, without Django's help."""

import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, models, transaction

from tests import factories
from tests.billing import factories as billing_factories
from tests.chat import factories as chat_factories
from tests.events import factories as event_factories
from tests.webhooks import factories as webhook_factories

pytestmark = pytest.mark.django_db

# A message that names itself as its parent.
_SELF = uuid.uuid4()

# constraint name -> (factory, the values that break it)
VIOLATIONS = {
    "accounts_user_failed_logins_not_negative": (
        factories.UserFactory,
        {"failed_login_attempts": -1},
    ),
    "accounts_user_email_not_empty": (factories.UserFactory, {"email": ""}),
    "accounts_user_lockout_count_not_negative": (factories.UserFactory, {"lockout_count": -1}),
    "accounts_apikey_scopes_is_array": (factories.ApiKeyFactory, {"scopes": {"all": True}}),
    "accounts_userprofile_display_name_not_empty": (
        factories.UserProfileFactory,
        {"display_name": ""},
    ),
    "accounts_permission_name_format": (factories.PermissionFactory, {"name": "View Invoices"}),
    "accounts_role_name_not_empty": (factories.RoleFactory, {"name": ""}),
    "accounts_apikey_name_not_empty": (factories.ApiKeyFactory, {"name": ""}),
    "chat_conversation_title_not_empty": (factories.ConversationFactory, {"title": ""}),
    "chat_participant_role_valid": (factories.ParticipantFactory, {"role": "guest"}),
    "chat_message_type_valid": (factories.MessageFactory, {"message_type": "video"}),
    "chat_message_not_own_parent": (
        factories.MessageFactory,
        {"id": _SELF, "parent_id": _SELF},
    ),
    "chat_message_metadata_shape": (factories.MessageFactory, {"metadata": {"event_type": 1}}),
    "chat_message_metadata_size": (
        factories.MessageFactory,
        {"metadata": {"event_type": "note", "payload": {"text": "x" * 5000}}},
    ),
    "chat_messagereaction_emoji_valid": (chat_factories.MessageReactionFactory, {"emoji": "a b"}),
    "documents_document_version_positive": (factories.DocumentFactory, {"version": 0}),
    "documents_document_title_not_empty": (factories.DocumentFactory, {"title": ""}),
    "documents_documentversion_version_positive": (
        factories.DocumentVersionFactory,
        {"version": 0},
    ),
    "documents_documentshare_level_valid": (
        factories.DocumentShareFactory,
        {"permission_level": "admin"},
    ),
    "billing_customer_name_not_empty": (factories.CustomerFactory, {"name": ""}),
    "billing_product_price_not_negative": (factories.ProductFactory, {"price": Decimal("-0.01")}),
    "billing_product_name_not_empty": (factories.ProductFactory, {"name": ""}),
    "billing_invoice_amount_not_negative": (factories.InvoiceFactory, {"amount": Decimal("-1")}),
    "billing_invoice_status_valid": (factories.InvoiceFactory, {"status": "sent"}),
    "billing_payment_amount_positive": (factories.PaymentFactory, {"amount": Decimal("0")}),
    "billing_payment_status_valid": (factories.PaymentFactory, {"status": "done"}),
    "billing_payment_provider_not_empty": (factories.PaymentFactory, {"provider": ""}),
    "billing_payment_refund_within_amount": (
        factories.PaymentFactory,
        {"amount": Decimal("25.00"), "refunded_amount": Decimal("25.01")},
    ),
    "billing_invoice_number_iff_finalized": (
        factories.InvoiceFactory,
        {"status": "open", "number": None},
    ),
    "billing_invoiceline_quantity_positive": (
        billing_factories.InvoiceLineFactory,
        {"quantity": Decimal("0")},
    ),
    "billing_invoiceline_unit_price_not_negative": (
        billing_factories.InvoiceLineFactory,
        {"unit_price": Decimal("-1.00")},
    ),
    "billing_invoiceline_total_matches": (
        billing_factories.InvoiceLineFactory,
        {"total": Decimal("99.99")},
    ),
    "billing_invoiceline_description_not_empty": (
        billing_factories.InvoiceLineFactory,
        {"description": ""},
    ),
    "billing_invoice_pdf_sha256_when_finalized": (
        factories.InvoiceFactory,
        {"status": "draft", "pdf_sha256": "0" * 64},
    ),
    "billing_invoice_credit_within_amount": (
        factories.InvoiceFactory,
        {"amount": Decimal("100.00"), "credited_amount": Decimal("100.01")},
    ),
    "billing_creditnote_amount_positive": (
        billing_factories.CreditNoteFactory,
        {"amount": Decimal("0")},
    ),
    "billing_creditnote_reason_not_empty": (billing_factories.CreditNoteFactory, {"reason": ""}),
    "billing_creditnote_pdf_sha256_hex": (
        billing_factories.CreditNoteFactory,
        {"pdf_sha256": "not-a-digest"},
    ),
    "billing_creditnoteline_amount_positive": (
        billing_factories.CreditNoteLineFactory,
        {"amount": Decimal("-1.00")},
    ),
    "billing_creditnoteline_description_not_empty": (
        billing_factories.CreditNoteLineFactory,
        {"description": ""},
    ),
    "billing_refund_amount_positive": (billing_factories.RefundFactory, {"amount": Decimal("0")}),
    "billing_invoicesend_status_valid": (billing_factories.InvoiceSendFactory, {"status": "lost"}),
    "billing_invoicesend_sent_at_iff_sent": (
        billing_factories.InvoiceSendFactory,
        {"status": "sent", "sent_at": None},
    ),
    "billing_invoicesend_to_not_empty": (billing_factories.InvoiceSendFactory, {"to": ""}),
    "core_idempotencykey_key_not_empty": (factories.IdempotencyKeyFactory, {"key": ""}),
    "core_auditevent_action_not_empty": (factories.AuditEventFactory, {"action": ""}),
    "core_event_type_not_empty": (event_factories.EventFactory, {"type": ""}),
    "core_event_audience_kind_known": (event_factories.EventFactory, {"audience_kind": "team"}),
    "webhooks_webhookendpoint_events_not_empty": (
        webhook_factories.WebhookEndpointFactory,
        {"events": []},
    ),
    "webhooks_webhookendpoint_failures_not_negative": (
        webhook_factories.WebhookEndpointFactory,
        {"consecutive_failures": -1},
    ),
    "webhooks_webhookendpoint_previous_secret_expires": (
        webhook_factories.WebhookEndpointFactory,
        {"previous_secret": "old"},
    ),
    "webhooks_webhookdelivery_attempts_not_negative": (
        webhook_factories.WebhookDeliveryFactory,
        {"attempts": -1},
    ),
    "webhooks_webhookdelivery_status_known": (
        webhook_factories.WebhookDeliveryFactory,
        {"status": "lost"},
    ),
    "webhooks_webhookcursor_single_row": (webhook_factories.WebhookCursorFactory, {"id": 2}),
}


def _declared_check_constraints() -> set[str]:
    return {
        constraint.name
        for app in ("core", "accounts", "chat", "documents", "billing", "webhooks")
        for model in apps.get_app_config(app).get_models()
        for constraint in model._meta.constraints
        if isinstance(constraint, models.CheckConstraint)
    }


def _violated_constraint(build) -> str:
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        build()
    return error.value.__cause__.diag.constraint_name


def test_every_check_constraint_has_a_violation_case():
    assert _declared_check_constraints() == set(VIOLATIONS)


@pytest.mark.parametrize("constraint", sorted(VIOLATIONS))
def test_check_constraint_refuses_a_violating_row(constraint):
    factory, values = VIOLATIONS[constraint]

    assert _violated_constraint(lambda: factory(**values)) == constraint


def test_emails_are_unique_whatever_their_case():
    factories.UserFactory(email="ana@example.com")

    assert _violated_constraint(lambda: factories.UserFactory(email="Ana@Example.com")) == (
        "accounts_user_email_ci_uniq"
    )


# (a function making the first row, a function making its duplicate from it)
DUPLICATES = {
    "users email": (factories.UserFactory, lambda u: factories.UserFactory(email=u.email)),
    "roles name": (
        factories.RoleFactory,
        lambda r: factories.RoleFactory._meta.model.objects.create(name=r.name),
    ),
    "permissions name": (
        factories.PermissionFactory,
        lambda p: factories.PermissionFactory._meta.model.objects.create(name=p.name),
    ),
    "sessions token": (
        factories.ApiSessionFactory,
        lambda s: factories.ApiSessionFactory(token=s.token),
    ),
    "api_keys key": (factories.ApiKeyFactory, lambda k: factories.ApiKeyFactory(key=k.key)),
    "role_permissions pair": (
        factories.RolePermissionFactory,
        lambda rp: factories.RolePermissionFactory(role=rp.role, permission=rp.permission),
    ),
    "user_roles pair": (
        factories.UserRoleFactory,
        lambda ur: factories.UserRoleFactory(user=ur.user, role=ur.role),
    ),
    "message_reactions message, user and emoji": (
        chat_factories.MessageReactionFactory,
        lambda r: chat_factories.MessageReactionFactory(
            message=r.message, user=r.user, emoji=r.emoji
        ),
    ),
    "participants pair": (
        factories.ParticipantFactory,
        lambda p: factories.ParticipantFactory(conversation=p.conversation, user=p.user),
    ),
    "user_profiles user": (
        factories.UserProfileFactory,
        lambda p: factories.UserProfileFactory(user=p.user),
    ),
    "document version number": (
        factories.DocumentVersionFactory,
        lambda v: factories.DocumentVersionFactory(document=v.document, version=v.version),
    ),
    "webhook delivery per endpoint and event": (
        webhook_factories.WebhookDeliveryFactory,
        lambda d: webhook_factories.WebhookDeliveryFactory(
            endpoint=d.endpoint, event_id=d.event_id
        ),
    ),
    "document share per user": (
        factories.DocumentShareFactory,
        lambda s: factories.DocumentShareFactory(document=s.document, user=s.user),
    ),
}


@pytest.mark.parametrize("case", sorted(DUPLICATES))
def test_unique_constraint_refuses_a_duplicate(case):
    make_first, make_duplicate = DUPLICATES[case]
    first = make_first()

    with pytest.raises(IntegrityError), transaction.atomic():
        make_duplicate(first)
