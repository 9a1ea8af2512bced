"""Invoices: drafts and their lines, numbering, and the transitions staff make by hand.

Paid is reached through payments only (billing/services/payments.py), which use this
module's lock, refusal and announcement so every invoice transition reads the same.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from billing import documents, sql
from billing.models import MONEY_MAX, Customer, Invoice, InvoiceLine, InvoiceStatus, Product
from core import audit
from core.context import ActionContext
from core.events import Audience, publish
from core.exceptions import Conflict, ValidationFailed
from core.models import AuditAction
from core.services.idempotency import idempotent_write

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Whoever may read invoices hears what happens to them.
AUDIENCE = Audience.permission("billing.view_invoice")


def to_cents(value: Decimal) -> Decimal:
    """Rounds half-up to the cent (PostgreSQL's ``round(numeric, 2)`` does the same)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def acting_user(actor: User | None) -> User | None:
    """The user to stamp on a row: nobody for an anonymous or system actor."""
    return actor if actor is not None and actor.is_authenticated else None


def lock(invoice: Invoice) -> Invoice:
    """The invoice as it is now, its row locked until the transaction ends."""
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def refusal(invoice: Invoice, doing: str) -> Conflict:
    return Conflict(
        f"Cannot {doing} an invoice that is {invoice.status}.",
        code="invalid_transition",
        extensions={"current_status": invoice.status},
    )


def snapshot(invoice: Invoice) -> dict[str, Any]:
    return {"status": invoice.status, "amount": str(invoice.amount), "number": invoice.number}


def announce(type: str, invoice: Invoice, *, actor: User | None, context: ActionContext) -> None:
    """Publishes ``type`` (invoice.finalized, invoice.paid, ...) with the invoice as
    GET /invoices/{id} now answers it."""
    publish(type=type, target=invoice, audience=AUDIENCE, actor=actor, context=context)


# --- drafts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    """One line as a caller describes it; the product fills in what is left out."""

    quantity: Decimal
    product: Product | None = None
    description: str | None = None
    unit_price: Decimal | None = None


def _build_line(line: LineInput, *, position: int) -> InvoiceLine | tuple[str, str]:
    """The line to store, or (field, message) saying what is wrong with it."""
    product = line.product
    if product is not None and (not product.active or product.deleted_at):
        # Deactivated products stay on the invoices that have them, but are no longer sold.
        return "product", "This product is no longer sold; it cannot go on a new line."
    unit_price = line.unit_price
    if unit_price is None and product is not None:
        unit_price = product.price
    if unit_price is None:
        return "unit_price", "A line without a product needs a unit price."
    description = line.description or (product.name if product is not None else "")
    if not description:
        return "description", "A line without a product needs a description."
    if line.quantity <= 0:
        return "quantity", "A quantity must be more than zero."
    if unit_price < 0:
        return "unit_price", "A unit price cannot be negative."
    total = to_cents(line.quantity * unit_price)
    if total > MONEY_MAX:
        return "quantity", f"The line total cannot exceed {MONEY_MAX}."
    return InvoiceLine(
        position=position,
        product=product,
        description=description,
        quantity=line.quantity,
        unit_price=unit_price,
        total=total,
    )


def build_lines(lines: Sequence[LineInput]) -> tuple[list[InvoiceLine], Decimal]:
    """The lines to store and their sum, or ValidationFailed naming ``lines.<i>.<field>``.
    Writes nothing, so a form may ask it before saving (the admin's line editor)."""
    built: list[InvoiceLine] = []
    errors: dict[str, list[str]] = {}
    for position, line in enumerate(lines, start=1):
        result = _build_line(line, position=position)
        if isinstance(result, InvoiceLine):
            built.append(result)
        else:
            field, message = result
            errors[f"lines.{position - 1}.{field}"] = [message]
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


def _require_billable(customer: Customer) -> None:
    if customer.deleted_at is not None:
        raise ValidationFailed(
            fields={"customer": ["This customer was deleted; it gets no new invoices."]}
        )


def _require_draft(invoice: Invoice, doing: str) -> None:
    if invoice.status != InvoiceStatus.DRAFT:
        raise refusal(invoice, doing)


@idempotent_write
def invoice_create(
    *,
    customer: Customer,
    due_date: datetime,
    lines: Sequence[LineInput] = (),
    actor: User | None,
    context: ActionContext,
) -> Invoice:
    """A draft invoice with its lines; its amount is their sum."""
    _require_billable(customer)
    invoice = Invoice(customer=customer, due_date=due_date, status=InvoiceStatus.DRAFT)
    built, invoice.amount = build_lines(lines)
    invoice.save(force_insert=True)
    for line in built:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(built)
    audit.record(
        action=AuditAction.INVOICE_CREATED,
        actor=actor,
        target=invoice,
        after=snapshot(invoice),
        context=context,
    )
    return invoice


@transaction.atomic(durable=True)
def invoice_update(
    *,
    invoice: Invoice,
    customer: Customer | None = None,
    due_date: datetime | None = None,
    lines: Sequence[LineInput] | None = None,
    actor: User | None,
    context: ActionContext,
) -> Invoice:
    """Edits a draft; ``lines``, when given, replace all of its lines. The database checks
    at commit that the amount and the lines agree."""
    invoice = lock(invoice)
    _require_draft(invoice, "edit")
    before = snapshot(invoice)
    if customer is not None and customer.pk != invoice.customer_id:
        _require_billable(customer)
        invoice.customer = customer
    if due_date is not None:
        invoice.due_date = due_date
    if lines is not None:
        built, invoice.amount = build_lines(lines)
        InvoiceLine.objects.filter(invoice=invoice).delete()
        for line in built:
            line.invoice = invoice
        InvoiceLine.objects.bulk_create(built)
    invoice.save(update_fields=["customer", "due_date", "amount"])
    audit.record(
        action=AuditAction.INVOICE_UPDATED,
        actor=actor,
        target=invoice,
        before=before,
        after=snapshot(invoice),
        context=context,
    )
    invoice.refresh_from_db()
    return invoice


@transaction.atomic(durable=True)
def invoice_delete(*, invoice: Invoice, actor: User | None, context: ActionContext) -> None:
    """Only drafts are deleted; a finalized invoice keeps its number for ever."""
    invoice = lock(invoice)
    _require_draft(invoice, "delete")
    audit.record(
        action=AuditAction.INVOICE_DELETED,
        actor=actor,
        target=invoice,
        before=snapshot(invoice),
        context=context,
    )
    invoice.delete()


# --- transitions -----------------------------------------------------------------------------


def number_allocate(statement: str, prefix: str, *, year: int) -> str:
    """``<prefix>-<year>-<000123>``, the next number of ``year`` in the sequence ``statement``
    bumps (sql.INVOICE_NUMBER_NEXT says why it has no gaps)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, [year])
        (number,) = cursor.fetchone()
    return f"{prefix}-{year}-{number:06d}"


@transaction.atomic(durable=True)
def invoice_finalize(*, invoice: Invoice, actor: User | None, context: ActionContext) -> Invoice:
    """draft → open: numbers the invoice, renders and stores its PDF; from now on its lines
    are frozen. If the PDF cannot be rendered or stored, nothing happens: the invoice stays a
    draft and its number goes back to the year's sequence."""
    invoice = lock(invoice)
    _require_draft(invoice, "finalize")
    if not invoice.lines.exists():
        raise ValidationFailed(
            "An invoice needs at least one line to be finalized.",
            fields={"lines": ["Add at least one line first."]},
            status=422,
        )
    before = snapshot(invoice)
    now = timezone.now()
    invoice.number = number_allocate(sql.INVOICE_NUMBER_NEXT, "INV", year=now.year)
    invoice.status = InvoiceStatus.OPEN
    invoice.finalized_at, invoice.finalized_by = now, acting_user(actor)
    invoice.pdf_sha256 = documents.invoice_pdf_issue(invoice)
    invoice.save(update_fields=["number", "status", "finalized_at", "finalized_by", "pdf_sha256"])
    audit.record(
        action=AuditAction.INVOICE_FINALIZED,
        actor=actor,
        target=invoice,
        before=before,
        after={**snapshot(invoice), "pdf_sha256": invoice.pdf_sha256},
        context=context,
    )
    announce("invoice.finalized", invoice, actor=actor, context=context)
    return invoice


@dataclass(frozen=True)
class _Closing:
    sources: frozenset[str]
    doing: str  # for the refusal: "Cannot <doing> an invoice that is <status>."
    stamp: str  # the <stamp>_at and <stamp>_by columns that record it
    action: AuditAction
    event: str


# The transitions staff make by hand; paid is reached through payments only.
_CLOSINGS = {
    InvoiceStatus.VOID: _Closing(
        frozenset({InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE}),
        "void",
        "voided",
        AuditAction.INVOICE_VOIDED,
        "invoice.voided",
    ),
    InvoiceStatus.UNCOLLECTIBLE: _Closing(
        frozenset({InvoiceStatus.OPEN}),
        "mark uncollectible",
        "uncollectible",
        AuditAction.INVOICE_MARKED_UNCOLLECTIBLE,
        "invoice.marked_uncollectible",
    ),
}


def _close(
    invoice: Invoice, *, to: InvoiceStatus, actor: User | None, context: ActionContext
) -> Invoice:
    closing = _CLOSINGS[to]
    invoice = lock(invoice)
    if invoice.status not in closing.sources:
        raise refusal(invoice, closing.doing)
    before = snapshot(invoice)
    invoice.status = to
    setattr(invoice, f"{closing.stamp}_at", timezone.now())
    setattr(invoice, f"{closing.stamp}_by", acting_user(actor))
    invoice.save(update_fields=["status", f"{closing.stamp}_at", f"{closing.stamp}_by"])
    audit.record(
        action=closing.action,
        actor=actor,
        target=invoice,
        before=before,
        after=snapshot(invoice),
        context=context,
    )
    announce(closing.event, invoice, actor=actor, context=context)
    return invoice


@transaction.atomic(durable=True)
def invoice_void(*, invoice: Invoice, actor: User | None, context: ActionContext) -> Invoice:
    """open | uncollectible → void."""
    return _close(invoice, to=InvoiceStatus.VOID, actor=actor, context=context)


@transaction.atomic(durable=True)
def invoice_mark_uncollectible(
    *, invoice: Invoice, actor: User | None, context: ActionContext
) -> Invoice:
    """open → uncollectible: written off, yet still payable."""
    return _close(invoice, to=InvoiceStatus.UNCOLLECTIBLE, actor=actor, context=context)
