"""Events a payment provider sends us, applied once each. The signature is checked before
(billing/webhooks.py, by the view that receives the request)."""

import uuid
from typing import Any, TypeGuard

from django.db import IntegrityError, transaction

from billing.models import Payment, PaymentStatus, WebhookEvent
from core.context import ActionContext
from core.exceptions import ValidationFailed

from .payments import payment_apply_provider_status

# Event types a provider sends and the payment status each reports.
WEBHOOK_EVENT_STATUSES = {
    "payment.succeeded": PaymentStatus.SUCCEEDED,
    "payment.failed": PaymentStatus.FAILED,
}


@transaction.atomic(durable=True)
def webhook_event_process(*, provider: str, event: dict[str, Any], context: ActionContext) -> str:
    """Applies one verified provider event, once: ``processed``, ``ignored`` (a type or a move
    that does not apply) or ``duplicate`` (seen before; nothing changes).

    Precondition: the signature was verified and ``event`` has a non-empty string ``id``.
    """
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                provider=provider,
                event_id=event["id"],
                event_type=str(event.get("type", ""))[:100],
                payload=event,
            )
    except IntegrityError:
        return "duplicate"
    # Whatever JSON a provider sends in these members: only a string type and an object of
    # data can name a payment.
    event_type, data = event.get("type"), event.get("data")
    status = WEBHOOK_EVENT_STATUSES.get(event_type) if isinstance(event_type, str) else None
    if status is None:
        return "ignored"
    payment_id = data.get("payment_id") if isinstance(data, dict) else None
    payment = (
        Payment.objects.filter(pk=payment_id, provider=provider).first()
        if _is_uuid(payment_id)
        else None
    )
    if payment is None:
        raise ValidationFailed(
            "The event names no payment of this provider.",
            fields={"data.payment_id": ["No payment of this provider has this id."]},
            status=422,
        )
    # No actor: a provider is no user of ours; the context tells where its request came from.
    applied = payment_apply_provider_status(payment=payment, status=status, context=context)
    return "processed" if applied else "ignored"


def _is_uuid(value: Any) -> TypeGuard[str]:
    """Whether a value decoded from JSON is a UUID; only a string can be."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
