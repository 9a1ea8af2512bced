"""Payments against open or uncollectible invoices, their refunds, and what moves an invoice
to paid (or back to open when a refund uncovers it)."""

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import User
from billing import sql
from billing.models import Invoice, InvoiceStatus, Payment, PaymentStatus, Refund
from core import audit
from core.context import ActionContext
from core.events import Audience, publish
from core.exceptions import Conflict, ValidationFailed
from core.models import AuditAction
from core.services.idempotency import idempotent_write

from .invoices import ZERO, acting_user, announce, lock, refusal, snapshot

# Whoever may read payments hears of them.
AUDIENCE = Audience.permission("billing.view_payment")

PAYABLE = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
# What a payment may be recorded as; refunded is reached through refunds only.
RECORDABLE = (PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, PaymentStatus.FAILED)


@dataclass(frozen=True)
class InvoiceBalance:
    held: Decimal  # pending + succeeded, less refunds
    paid: Decimal  # succeeded, less refunds
    remaining: Decimal  # what a new payment may still cover


def invoice_balance(*, invoice: Invoice) -> InvoiceBalance:
    """Computed by PostgreSQL from the payments; exact only while the caller holds the
    invoice lock (or for display)."""
    # billing/sql.py's statement, the one the benchmark floor sends for a payment.
    with connection.cursor() as cursor:
        cursor.execute(sql.INVOICE_BALANCE, {"invoice": invoice.pk})
        total_held, settled, refunded = cursor.fetchone()
    held = total_held - refunded
    return InvoiceBalance(held=held, paid=settled - refunded, remaining=amount_due(invoice) - held)


def amount_due(invoice: Invoice) -> Decimal:
    """What the customer owes in all: the invoice less its credit notes."""
    due: Decimal = invoice.amount - invoice.credited_amount
    return due


def settle(invoice: Invoice, *, paid: Decimal, actor: User | None, context: ActionContext) -> None:
    """Precondition: the invoice is locked and ``paid`` is what its succeeded payments net of
    refunds now add up to. Moves it to paid when they (with its credit notes) cover it, or back
    to open when a refund uncovers a paid one."""
    before = snapshot(invoice)
    due = amount_due(invoice)
    if invoice.status in PAYABLE and paid >= due:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at, invoice.paid_by = timezone.now(), acting_user(actor)
        action = AuditAction.INVOICE_PAID
    elif invoice.status == InvoiceStatus.PAID and paid < due:
        invoice.status = InvoiceStatus.OPEN
        invoice.paid_at = invoice.paid_by = None
        action = AuditAction.INVOICE_REOPENED
    else:
        return
    invoice.save(update_fields=["status", "paid_at", "paid_by"])
    audit.record(
        action=action,
        actor=actor,
        target=invoice,
        before=before,
        after=snapshot(invoice),
        context=context,
    )
    # Either way the invoice's status changed, and whoever follows invoices hears of it.
    paid_now = invoice.status == InvoiceStatus.PAID
    announce(
        "invoice.paid" if paid_now else "invoice.reopened", invoice, actor=actor, context=context
    )


def _announce(type: str, payment: Payment, *, actor: User | None, context: ActionContext) -> None:
    # The payment as GET /payments/{id} now answers it.
    publish(type=type, target=payment, audience=AUDIENCE, actor=actor, context=context)


def _insert_payment(
    *,
    invoice: Invoice,
    amount: Decimal,
    provider: str,
    status: PaymentStatus,
    metadata: dict[str, Any],
    recorded_by: User | None,
) -> Payment:
    """Writes a payment with billing/sql.py's statement, the one the benchmark floor sends,
    and returns it as the ORM's create would."""
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "invoice_id": invoice.pk,
        "amount": amount,
        "status": status,
        "provider": provider,
        "metadata": metadata,
        "recorded_by_id": None if recorded_by is None else recorded_by.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            sql.PAYMENT_INSERT,
            {
                "payment": row["id"],
                "invoice": invoice.pk,
                "amount": amount,
                "status": status,
                "provider": provider,
                "metadata": json.dumps(metadata),
                "recorded_by": row["recorded_by_id"],
            },
        )
        row["created_at"], row["refunded_amount"] = cursor.fetchone()
    names = [field.attname for field in Payment._meta.concrete_fields]
    payment = Payment.from_db(connection.alias, names, [row[name] for name in names])
    payment.invoice, payment.recorded_by = invoice, recorded_by
    return payment


@idempotent_write
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    provider: str,
    status: PaymentStatus = PaymentStatus.SUCCEEDED,
    metadata: dict[str, Any] | None = None,
    actor: User | None,
    context: ActionContext,
) -> Payment:
    """Records a payment on an open or uncollectible invoice; the invoice becomes paid when
    covered. A payment larger than what remains is refused."""
    if amount <= 0:
        raise ValidationFailed(fields={"amount": ["A payment amount must be more than zero."]})
    if status not in RECORDABLE:
        raise ValidationFailed(
            fields={"status": [f"A payment is recorded as one of {', '.join(RECORDABLE)}."]}
        )
    if not provider:
        raise ValidationFailed(fields={"provider": ["A payment needs a provider."]})
    invoice = lock(invoice)
    if invoice.status not in PAYABLE:
        raise refusal(invoice, "pay")
    balance = invoice_balance(invoice=invoice)
    if status != PaymentStatus.FAILED and amount > balance.remaining:
        raise Conflict(
            f"The payment of {amount} exceeds the {balance.remaining} that remains due.",
            code="overpayment",
            fields={"amount": [f"At most {balance.remaining} remains due."]},
            extensions={"remaining": str(balance.remaining)},
        )
    payment = _insert_payment(
        invoice=invoice,
        amount=amount,
        provider=provider,
        status=status,
        metadata=metadata or {},
        recorded_by=acting_user(actor),
    )
    audit.record(
        action=AuditAction.PAYMENT_RECORDED,
        actor=actor,
        target=payment,
        after={"invoice": str(invoice.pk), "amount": str(amount), "status": status},
        context=context,
    )
    _announce("payment.recorded", payment, actor=actor, context=context)
    # What was paid before, plus this payment: no second pass over the payments.
    paid = balance.paid + (amount if status == PaymentStatus.SUCCEEDED else ZERO)
    settle(invoice, paid=paid, actor=actor, context=context)
    return payment


@idempotent_write
def payment_refund(
    *,
    payment: Payment,
    amount: Decimal | None = None,
    reason: str = "",
    actor: User | None,
    context: ActionContext,
) -> Refund:
    """Gives back part or all of a succeeded payment (all that is left when ``amount`` is
    None); a paid invoice no longer covered goes back to open."""
    if amount is not None and amount <= 0:
        raise ValidationFailed(fields={"amount": ["A refund amount must be more than zero."]})
    invoice = lock(payment.invoice)
    refund = refund_locked(payment, amount=amount, reason=reason, actor=actor, context=context)
    settle(invoice, paid=invoice_balance(invoice=invoice).paid, actor=actor, context=context)
    return refund


def refund_locked(
    payment: Payment,
    *,
    amount: Decimal | None,
    reason: str,
    actor: User | None,
    context: ActionContext,
) -> Refund:
    """Precondition: the payment's invoice is locked, and the caller settles it after. Locks
    the payment and refunds ``amount`` of it (all that is left when None), audited and
    announced: the one refund path, for staff's refunds and credit notes' alike."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.SUCCEEDED:
        raise Conflict(
            f"Only a succeeded payment can be refunded; this one is {payment.status}.",
            code="payment_not_refundable",
            extensions={"current_status": payment.status},
        )
    refundable = payment.amount - payment.refunded_amount
    amount = refundable if amount is None else amount
    if amount > refundable:
        raise Conflict(
            f"The refund of {amount} exceeds the {refundable} left to refund.",
            code="over_refund",
            fields={"amount": [f"At most {refundable} can be refunded."]},
            extensions={"refundable": str(refundable)},
        )
    refund = Refund.objects.create(
        payment=payment, amount=amount, reason=reason, created_by=acting_user(actor)
    )
    payment.refunded_amount += amount
    if payment.refunded_amount == payment.amount:
        payment.status = PaymentStatus.REFUNDED
    payment.save(update_fields=["refunded_amount", "status"])
    audit.record(
        action=AuditAction.PAYMENT_REFUNDED,
        actor=actor,
        target=payment,
        after={"refund": str(refund.pk), "amount": str(amount), "reason": reason},
        context=context,
    )
    _announce("payment.refunded", payment, actor=actor, context=context)
    return refund


def refund_overpayment(
    invoice: Invoice, *, reason: str, actor: User | None, context: ActionContext
) -> list[Refund]:
    """Precondition: the invoice is locked, and the caller settles it after. Gives back what
    its succeeded payments, net of refunds, hold beyond what the customer now owes (after a
    credit note), newest payment first; nothing when they hold no more."""
    excess = invoice_balance(invoice=invoice).paid - amount_due(invoice)
    refunds = []
    succeeded = Payment.objects.filter(invoice=invoice, status=PaymentStatus.SUCCEEDED)
    for payment in succeeded.order_by("-created_at", "-id"):
        if excess <= 0:
            break
        amount = min(excess, payment.amount - payment.refunded_amount)
        refunds.append(
            refund_locked(payment, amount=amount, reason=reason, actor=actor, context=context)
        )
        excess -= amount
    return refunds


# What a provider may report about a payment it holds.
# Keyed by text: a payment's status is read back from its column as a plain string.
_PROVIDER_MOVES: dict[str, set[PaymentStatus]] = {
    PaymentStatus.PENDING: {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED},
}


def payment_apply_provider_status(
    *, payment: Payment, status: PaymentStatus, context: ActionContext
) -> bool:
    """Precondition: inside the transaction of the provider's event (services/webhooks.py).
    Applies a provider's news about a payment; returns False when the move makes no sense
    from where the payment is (a late or repeated notice)."""
    invoice = lock(payment.invoice)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if status not in _PROVIDER_MOVES.get(payment.status, ()):
        return False
    before = {"status": payment.status}
    payment.status = status
    payment.save(update_fields=["status"])
    audit.record(
        action=AuditAction.PAYMENT_STATUS_CHANGED,
        target=payment,
        before=before,
        after={"status": status},
        context=context,
    )
    settle(invoice, paid=invoice_balance(invoice=invoice).paid, actor=None, context=context)
    return True
