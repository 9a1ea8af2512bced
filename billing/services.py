"""Writes for billing: each function is one transaction that checks what only it can know,
changes state, and writes its audit event.

Top-level actions are durable; those the admin's change and delete pages call (which run
inside Django's own transaction) and those an idempotent request wraps are plain atomic
blocks, and say so.

Money is ``Decimal`` throughout, rounded half-up to the cent where a line total is made.
Every write that depends on an invoice's totals (payments, refunds, transitions) first takes
the invoice's row lock, so concurrent writers queue on it and each sees the others' effects.
Lock order is always invoice, then payment.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from core import audit
from core.db import save_changes
from core.exceptions import Conflict, ValidationFailed
from core.models import AuditAction

from .models import (
    MONEY_MAX,
    Customer,
    IdempotencyKey,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Product,
    Refund,
    WebhookEvent,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(value: Decimal) -> Decimal:
    """Rounds half-up to the cent (PostgreSQL's ``round(numeric, 2)`` does the same)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- customers and products -----------------------------------------------------------------


@transaction.atomic(durable=True)
def customer_create(
    *, name: str, email: str, phone: str | None = None, address: str | None = None
) -> Customer:
    return Customer.objects.create(name=name, email=email, phone=phone, address=address)


@transaction.atomic(durable=True)
def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    return save_changes(customer, fields)


@transaction.atomic(durable=True)
def customer_delete(*, customer: Customer) -> None:
    """Soft delete: the customer's invoices keep pointing at it."""
    Customer.objects.filter(pk=customer.pk).soft_delete()


@transaction.atomic(durable=True)
def product_create(
    *, name: str, price: Decimal, description: str | None = None, active: bool = True
) -> Product:
    return Product.objects.create(name=name, price=price, description=description, active=active)


@transaction.atomic(durable=True)
def product_update(*, product: Product, **fields: Any) -> Product:
    """Changes name, description, price or ``active`` (deactivated products stay on the
    invoices that have them but cannot be put on new lines)."""
    return save_changes(product, fields)


@transaction.atomic(durable=True)
def product_delete(*, product: Product) -> None:
    Product.objects.filter(pk=product.pk).soft_delete()


# --- invoices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    """One line as a caller describes it; the product fills in what is left out."""

    quantity: Decimal
    product: Product | None = None
    description: str | None = None
    unit_price: Decimal | None = None


def _build_lines(lines: Sequence[LineInput]) -> tuple[list[InvoiceLine], Decimal]:
    built, errors = [], {}
    for position, line in enumerate(lines, start=1):
        prefix = f"lines.{position - 1}"
        unit_price = line.unit_price if line.unit_price is not None else None
        if unit_price is None and line.product is not None:
            unit_price = line.product.price
        description = line.description or (line.product.name if line.product else "")
        if unit_price is None:
            errors[f"{prefix}.unit_price"] = ["A line without a product needs a unit price."]
            continue
        if not description:
            errors[f"{prefix}.description"] = ["A line without a product needs a description."]
            continue
        total = to_cents(line.quantity * unit_price)
        if total > MONEY_MAX:
            errors[f"{prefix}.quantity"] = [f"The line total cannot exceed {MONEY_MAX}."]
            continue
        built.append(
            InvoiceLine(
                position=position,
                product=line.product,
                description=description,
                quantity=line.quantity,
                unit_price=unit_price,
                total=total,
            )
        )
    if errors:
        raise ValidationFailed(fields=errors)
    amount = sum((line.total for line in built), ZERO)
    if amount > MONEY_MAX:
        raise ValidationFailed(
            "The invoice total is too large.",
            fields={
                "lines": [f"The lines add up to {amount}; an invoice holds at most {MONEY_MAX}."]
            },
        )
    return built, amount


def _replace_lines(invoice: Invoice, lines: Sequence[LineInput]) -> None:
    """Precondition: the invoice is a locked draft. Sets its lines and its amount; the
    database checks at commit that the two agree."""
    built, amount = _build_lines(lines)
    InvoiceLine.objects.filter(invoice=invoice).delete()
    for line in built:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    invoice.amount = amount


def _snapshot(invoice: Invoice) -> dict[str, Any]:
    return {"status": invoice.status, "amount": str(invoice.amount), "number": invoice.number}


def _lock(invoice: Invoice) -> Invoice:
    """The invoice as it is now, its row locked until the transaction ends."""
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


@transaction.atomic
def invoice_create(
    *,
    customer: Customer,
    due_date: datetime,
    lines: Sequence[LineInput] = (),
    actor: Any = None,
    request: HttpRequest | None = None,
) -> Invoice:
    """A draft invoice with its lines; its amount is their sum. Not durable: the admin's add
    page calls it inside its own transaction."""
    invoice = Invoice(customer=customer, due_date=due_date, status=InvoiceStatus.DRAFT)
    built, invoice.amount = _build_lines(lines)
    invoice.save(force_insert=True)
    for line in built:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    audit.record(
        action=AuditAction.INVOICE_CREATED,
        actor=actor,
        target=invoice,
        after=_snapshot(invoice),
        request=request,
    )
    return invoice


def _require_draft(invoice: Invoice, doing: str) -> None:
    if invoice.status != InvoiceStatus.DRAFT:
        raise _refused(invoice, doing)


def _refused(invoice: Invoice, doing: str) -> Conflict:
    return Conflict(
        f"Cannot {doing} an invoice that is {invoice.status}.",
        code="invalid_transition",
        extensions={"current_status": invoice.status},
    )


@transaction.atomic
def invoice_update(
    *,
    invoice: Invoice,
    actor: Any = None,
    customer: Customer | None = None,
    due_date: datetime | None = None,
    lines: Sequence[LineInput] | None = None,
    request: HttpRequest | None = None,
) -> Invoice:
    """Edits a draft; ``lines``, when given, replace all of its lines."""
    invoice = _lock(invoice)
    _require_draft(invoice, "edit")
    before = _snapshot(invoice)
    if customer is not None:
        invoice.customer = customer
    if due_date is not None:
        invoice.due_date = due_date
    if lines is not None:
        _replace_lines(invoice, lines)
    invoice.save(update_fields=["customer", "due_date", "amount"])
    audit.record(
        action=AuditAction.INVOICE_UPDATED,
        actor=actor,
        target=invoice,
        before=before,
        after=_snapshot(invoice),
        request=request,
    )
    invoice.refresh_from_db()
    return invoice


@transaction.atomic
def invoice_delete(
    *, invoice: Invoice, actor: Any = None, request: HttpRequest | None = None
) -> None:
    """Only drafts are deleted; a finalized invoice keeps its number for ever."""
    invoice = _lock(invoice)
    _require_draft(invoice, "delete")
    audit.record(
        action=AuditAction.INVOICE_DELETED,
        actor=actor,
        target=invoice,
        before=_snapshot(invoice),
        request=request,
    )
    invoice.delete()


def invoice_number_allocate(*, year: int) -> str:
    """The next number of ``year``. The counter row stays locked until the caller's
    transaction ends, so numbers are handed out in commit order and a rollback returns its
    number: no gaps, no duplicates."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO invoice_number_sequences (year, last_number) VALUES (%s, 1)"
            " ON CONFLICT (year) DO UPDATE"
            " SET last_number = invoice_number_sequences.last_number + 1"
            " RETURNING last_number",
            [year],
        )
        (number,) = cursor.fetchone()
    return f"INV-{year}-{number:06d}"


@transaction.atomic(durable=True)
def invoice_finalize(
    *, invoice: Invoice, actor: Any = None, request: HttpRequest | None = None
) -> Invoice:
    """draft → open: numbers the invoice; from now on its lines are frozen."""
    invoice = _lock(invoice)
    _require_draft(invoice, "finalize")
    if not invoice.lines.exists():
        raise ValidationFailed(
            "An invoice needs at least one line to be finalized.",
            fields={"lines": ["Add at least one line first."]},
            status=422,
        )
    before = _snapshot(invoice)
    now = timezone.now()
    invoice.number = invoice_number_allocate(year=now.year)
    invoice.status = InvoiceStatus.OPEN
    invoice.finalized_at, invoice.finalized_by = now, _user(actor)
    invoice.save(update_fields=["number", "status", "finalized_at", "finalized_by"])
    audit.record(
        action=AuditAction.INVOICE_FINALIZED,
        actor=actor,
        target=invoice,
        before=before,
        after=_snapshot(invoice),
        request=request,
    )
    return invoice


@dataclass(frozen=True)
class _Closing:
    sources: frozenset[str]
    doing: str  # for the refusal: "Cannot <doing> an invoice that is <status>."
    stamp: str  # the <stamp>_at and <stamp>_by columns that record it
    action: AuditAction


# The transitions staff make by hand; paid is reached through payments only.
CLOSINGS = {
    InvoiceStatus.VOID: _Closing(
        frozenset({InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE}),
        "void",
        "voided",
        AuditAction.INVOICE_VOIDED,
    ),
    InvoiceStatus.UNCOLLECTIBLE: _Closing(
        frozenset({InvoiceStatus.OPEN}),
        "mark uncollectible",
        "uncollectible",
        AuditAction.INVOICE_MARKED_UNCOLLECTIBLE,
    ),
}


def _close(
    invoice: Invoice, *, to: InvoiceStatus, actor: Any, request: HttpRequest | None
) -> Invoice:
    closing = CLOSINGS[to]
    invoice = _lock(invoice)
    if invoice.status not in closing.sources:
        raise _refused(invoice, closing.doing)
    before = _snapshot(invoice)
    invoice.status = to
    setattr(invoice, f"{closing.stamp}_at", timezone.now())
    setattr(invoice, f"{closing.stamp}_by", _user(actor))
    invoice.save(update_fields=["status", f"{closing.stamp}_at", f"{closing.stamp}_by"])
    audit.record(
        action=closing.action,
        actor=actor,
        target=invoice,
        before=before,
        after=_snapshot(invoice),
        request=request,
    )
    return invoice


@transaction.atomic(durable=True)
def invoice_void(
    *, invoice: Invoice, actor: Any = None, request: HttpRequest | None = None
) -> Invoice:
    """open | uncollectible → void."""
    return _close(invoice, to=InvoiceStatus.VOID, actor=actor, request=request)


@transaction.atomic(durable=True)
def invoice_mark_uncollectible(
    *, invoice: Invoice, actor: Any = None, request: HttpRequest | None = None
) -> Invoice:
    """open → uncollectible: written off, yet still payable."""
    return _close(invoice, to=InvoiceStatus.UNCOLLECTIBLE, actor=actor, request=request)


def _user(actor: Any) -> Any:
    return actor if actor is not None and actor.is_authenticated else None


# --- payments and refunds -------------------------------------------------------------------

# Money a payment holds against the invoice: pending payments reserve their amount so that
# two attempts in flight can never together exceed what is due.
_HELD = Q(status__in=[PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED])
_SETTLED = Q(status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED])


@dataclass(frozen=True)
class InvoiceBalance:
    held: Decimal  # pending + succeeded, less refunds
    paid: Decimal  # succeeded, less refunds
    remaining: Decimal  # what a new payment may still cover


def invoice_balance(*, invoice: Invoice) -> InvoiceBalance:
    """Computed by PostgreSQL from the payments; exact only while the caller holds the
    invoice lock (or for display)."""
    totals = Payment.objects.filter(invoice=invoice).aggregate(
        held=Coalesce(Sum("amount", filter=_HELD), ZERO),
        settled=Coalesce(Sum("amount", filter=_SETTLED), ZERO),
        refunded=Coalesce(Sum("refunded_amount"), ZERO),
    )
    held = totals["held"] - totals["refunded"]
    return InvoiceBalance(
        held=held, paid=totals["settled"] - totals["refunded"], remaining=invoice.amount - held
    )


def _settle(invoice: Invoice, *, paid: Decimal, actor: Any, request: HttpRequest | None) -> None:
    """Precondition: the invoice is locked and ``paid`` is what its succeeded payments net of
    refunds now add up to. Moves it to paid when they cover it, or back to open when a
    refund uncovers a paid one."""
    before = _snapshot(invoice)
    if (
        invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
        and paid >= invoice.amount
    ):
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at, invoice.paid_by = timezone.now(), _user(actor)
        action = AuditAction.INVOICE_PAID
    elif invoice.status == InvoiceStatus.PAID and paid < invoice.amount:
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
        after=_snapshot(invoice),
        request=request,
    )


PAYABLE = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    provider: str,
    status: PaymentStatus = PaymentStatus.SUCCEEDED,
    metadata: dict | None = None,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> Payment:
    """Records a payment on an open or uncollectible invoice; the invoice becomes paid when
    covered. A payment larger than what remains is refused.

    Not durable: an idempotent request runs it inside the transaction that also stores the
    answer (billing.api.idempotency), so both commit or neither does.
    """
    invoice = _lock(invoice)
    if invoice.status not in PAYABLE:
        raise _refused(invoice, "pay")
    balance = invoice_balance(invoice=invoice)
    if status != PaymentStatus.FAILED and amount > balance.remaining:
        raise Conflict(
            f"The payment of {amount} exceeds the {balance.remaining} that remains due.",
            code="overpayment",
            fields={"amount": [f"At most {balance.remaining} remains due."]},
            extensions={"remaining": str(balance.remaining)},
        )
    payment = Payment.objects.create(
        invoice=invoice,
        amount=amount,
        provider=provider,
        status=status,
        metadata=metadata or {},
        recorded_by=_user(actor),
    )
    audit.record(
        action=AuditAction.PAYMENT_RECORDED,
        actor=actor,
        target=payment,
        after={"invoice": str(invoice.pk), "amount": str(amount), "status": status},
        request=request,
    )
    # What was paid before, plus this payment: no second pass over the payments.
    paid = balance.paid + (amount if status == PaymentStatus.SUCCEEDED else ZERO)
    _settle(invoice, paid=paid, actor=actor, request=request)
    return payment


@transaction.atomic
def payment_refund(
    *,
    payment: Payment,
    amount: Decimal | None = None,
    reason: str = "",
    actor: Any = None,
    request: HttpRequest | None = None,
) -> Refund:
    """Gives back part or all of a succeeded payment (all that is left when ``amount`` is
    None); a paid invoice no longer covered goes back to open. Not durable, like
    ``payment_record``."""
    invoice = _lock(payment.invoice)
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
        payment=payment, amount=amount, reason=reason, created_by=_user(actor)
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
        request=request,
    )
    _settle(invoice, paid=invoice_balance(invoice=invoice).paid, actor=actor, request=request)
    return refund


# What a provider may report about a payment it holds.
_PROVIDER_MOVES = {
    PaymentStatus.PENDING: {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED},
}


def _payment_set_status(*, payment: Payment, status: PaymentStatus, actor: Any = None) -> bool:
    """Precondition: inside a transaction. Applies a provider's news about a payment;
    returns False when the move makes no sense from where the payment is (a late or
    repeated notice)."""
    invoice = _lock(payment.invoice)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if status not in _PROVIDER_MOVES.get(payment.status, ()):
        return False
    before = {"status": payment.status}
    payment.status = status
    payment.save(update_fields=["status"])
    audit.record(
        action=AuditAction.PAYMENT_STATUS_CHANGED,
        actor=actor,
        target=payment,
        before=before,
        after={"status": status},
    )
    _settle(invoice, paid=invoice_balance(invoice=invoice).paid, actor=actor, request=None)
    return True


# --- idempotency ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any


def request_fingerprint(*, method: str, path: str, body: Any) -> str:
    """The same request whatever the order of keys or whitespace of its JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def idempotency_claim(*, user: Any, key: str, fingerprint: str) -> StoredResponse | None:
    """Precondition: inside the transaction that will do the work and store its answer.

    Inserts the key first. A concurrent request with the same key blocks on the unique index
    until this transaction ends, then sees its stored answer; if this one rolls back the
    other proceeds as the first. Returns the earlier answer to replay, or None to go ahead.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO idempotency_keys (id, user_id, key, fingerprint)"
            " VALUES (gen_random_uuid(), %s, %s, %s)"
            " ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user.pk, key, fingerprint],
        )
        if cursor.fetchone() is not None:
            return None
    earlier = IdempotencyKey.objects.get(user=user, key=key)
    if earlier.fingerprint != fingerprint:
        raise ValidationFailed(
            "This Idempotency-Key was used with a different request.",
            code="idempotency_key_reused",
            fields={"Idempotency-Key": ["Already used for another request; use a new key."]},
            status=422,
        )
    return StoredResponse(status=earlier.response_status, body=earlier.response_body)


def idempotency_store(*, user: Any, key: str, status: int, body: Any) -> None:
    """Precondition: ``idempotency_claim`` returned None in this transaction."""
    IdempotencyKey.objects.filter(user=user, key=key).update(
        response_status=status, response_body=body
    )


@transaction.atomic(durable=True)
def idempotency_keys_purge(*, older_than: datetime, dry_run: bool = False) -> int:
    """Removes keys created before ``older_than``; returns how many (would) go."""
    stale = IdempotencyKey.objects.filter(created_at__lt=older_than)
    return stale.count() if dry_run else stale.delete()[0]


# --- provider webhooks ----------------------------------------------------------------------

# Event types a provider sends and the payment status each reports.
WEBHOOK_EVENT_STATUSES = {
    "payment.succeeded": PaymentStatus.SUCCEEDED,
    "payment.failed": PaymentStatus.FAILED,
}


@transaction.atomic(durable=True)
def webhook_event_process(*, provider: str, event: dict) -> str:
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
    status = WEBHOOK_EVENT_STATUSES.get(event.get("type"))
    if status is None:
        return "ignored"
    payment_id = (event.get("data") or {}).get("payment_id")
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
    return "processed" if _payment_set_status(payment=payment, status=status) else "ignored"


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
