"""Credit notes: the correction of a finalized invoice other than voiding it
(docs/billing-documents.md).

A credit note takes part or all of an invoice off what the customer owes, with a reason:
either an amount of the invoice as a whole, or parts of its lines. It is numbered
``CN-<year>-<000123>`` in a sequence of its own, rendered to a PDF once, and never changed.
The total credited never exceeds the invoice: the service checks it under the invoice's row
lock (so concurrent issues queue and each sees the others), and a check constraint on
``invoices.credited_amount`` holds it whoever writes.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from billing import documents, sql
from billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, InvoiceStatus
from core import audit
from core.context import ActionContext
from core.events import publish
from core.exceptions import Conflict, ValidationFailed
from core.models import AuditAction
from core.services.idempotency import idempotent_write

from .invoices import AUDIENCE, ZERO, acting_user, lock, number_allocate, refusal
from .payments import invoice_balance, refund_overpayment, settle

CREDITABLE = (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE)


@dataclass(frozen=True)
class CreditLineInput:
    """Part of an invoice line to credit: the line's position, and an amount (by default all
    of the line not yet credited)."""

    line: int
    amount: Decimal | None = None


def _credited_per_line(invoice: Invoice) -> dict[int, Decimal]:
    """What earlier credit notes took off each of the invoice's lines, by line position."""
    rows = (
        CreditNoteLine.objects.filter(invoice_line__invoice=invoice)
        .values("invoice_line__position")
        .annotate(credited=Sum("amount"))
    )
    return {row["invoice_line__position"]: row["credited"] for row in rows}


def _lines_from_invoice_lines(
    invoice: Invoice, wanted: Sequence[CreditLineInput]
) -> list[CreditNoteLine]:
    by_position: dict[int, InvoiceLine] = {line.position: line for line in invoice.lines.all()}
    credited = _credited_per_line(invoice)
    errors: dict[str, list[str]] = {}
    built: list[CreditNoteLine] = []
    seen: set[int] = set()
    for index, wanted_line in enumerate(wanted):
        invoice_line = by_position.get(wanted_line.line)
        if invoice_line is None:
            errors[f"lines.{index}.line"] = [f"The invoice has no line {wanted_line.line}."]
            continue
        if wanted_line.line in seen:
            errors[f"lines.{index}.line"] = ["Each invoice line may be named once."]
            continue
        seen.add(wanted_line.line)
        left = invoice_line.total - credited.get(wanted_line.line, ZERO)
        amount = left if wanted_line.amount is None else wanted_line.amount
        if amount <= 0 and wanted_line.amount is None:
            errors[f"lines.{index}.line"] = ["This line is already credited in full."]
        elif amount <= 0:
            errors[f"lines.{index}.amount"] = ["A credited amount must be more than zero."]
        elif amount > left:
            errors[f"lines.{index}.amount"] = [f"At most {left} of this line is left to credit."]
        else:
            built.append(
                CreditNoteLine(
                    position=len(built) + 1,
                    invoice_line=invoice_line,
                    description=invoice_line.description,
                    amount=amount,
                )
            )
    if errors:
        raise ValidationFailed(fields=errors)
    return built


@idempotent_write
def credit_note_issue(
    *,
    invoice: Invoice,
    reason: str,
    amount: Decimal | None = None,
    lines: Sequence[CreditLineInput] | None = None,
    actor: User | None,
    context: ActionContext,
) -> CreditNote:
    """Credits ``amount`` of the invoice as a whole, or the given parts of its ``lines`` (one
    of the two), for ``reason``. What the customer owes drops by the credit; what they paid
    beyond it (all of the credit, on a paid invoice) is refunded; an open invoice that is then
    covered by its payments becomes paid."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(fields={"reason": ["A credit note needs a reason."]})
    if (amount is None) == (lines is None):
        raise ValidationFailed(
            "Give either an amount or lines to credit.",
            fields={"amount": ["Give either an amount or lines, not both or neither."]},
        )
    if amount is not None and amount <= 0:
        raise ValidationFailed(fields={"amount": ["A credited amount must be more than zero."]})
    if lines is not None and not lines:
        raise ValidationFailed(fields={"lines": ["Name at least one line to credit."]})
    invoice = lock(invoice)
    if invoice.status not in CREDITABLE:
        raise refusal(invoice, "credit")
    if lines is not None:
        built = _lines_from_invoice_lines(invoice, lines)
    else:
        assert amount is not None  # noqa: S101 (narrowed by the either-or check above)
        built = [CreditNoteLine(position=1, description=reason, amount=amount)]
    total = sum((line.amount for line in built), ZERO)
    creditable = invoice.amount - invoice.credited_amount
    if total > creditable:
        raise Conflict(
            f"The credit of {total} exceeds the {creditable} of the invoice not yet credited.",
            code="over_credit",
            fields={"amount" if lines is None else "lines": [f"At most {creditable} is left."]},
            extensions={"creditable": str(creditable)},
        )
    now = timezone.now()
    credit_note = CreditNote(
        invoice=invoice,
        number=number_allocate(sql.CREDIT_NOTE_NUMBER_NEXT, "CN", year=now.year),
        amount=total,
        reason=reason,
        issued_at=now,
        issued_by=acting_user(actor),
    )
    credit_note.pdf_sha256 = documents.credit_note_pdf_issue(credit_note, built)
    credit_note.save(force_insert=True)
    for line in built:
        line.credit_note = credit_note
    CreditNoteLine.objects.bulk_create(built)
    invoice.credited_amount += total
    invoice.save(update_fields=["credited_amount"])
    audit.record(
        action=AuditAction.CREDIT_NOTE_ISSUED,
        actor=actor,
        target=credit_note,
        after={
            "invoice": str(invoice.pk),
            "number": credit_note.number,
            "amount": str(total),
            "reason": reason,
            "pdf_sha256": credit_note.pdf_sha256,
        },
        context=context,
    )
    # The credit note as GET /credit-notes/{id} answers it.
    publish(
        type="credit_note.issued",
        target=credit_note,
        audience=AUDIENCE,
        actor=actor,
        context=context,
    )
    # Money received beyond what is now owed goes back to the customer: a refund of the
    # payments, through the refunds' own path (audited, announced, within what was paid).
    refund_overpayment(
        invoice, reason=f"Credit note {credit_note.number}", actor=actor, context=context
    )
    settle(invoice, paid=invoice_balance(invoice=invoice).paid, actor=actor, context=context)
    return credit_note
