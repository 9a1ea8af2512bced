"""Reads for billing. List selectors return querysets the API pages with keyset pagination;
the reports are single SQL statements (billing/sql.py) whose sums PostgreSQL computes."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.core import signing
from django.db import connection, connections
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from core.exceptions import Conflict, NotFound, ValidationFailed
from core.routing import read_alias

from . import documents, sql
from .models import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceSend,
    InvoiceStatus,
    Payment,
    Product,
    Refund,
)


def customer_list() -> QuerySet[Customer]:
    return Customer.objects.all()


def product_list(*, active: bool | None = None) -> QuerySet[Product]:
    products = Product.objects.all()
    return products if active is None else products.filter(active=active)


def past_due(invoices: QuerySet[Invoice], *, now: datetime | None = None) -> QuerySet[Invoice]:
    """Open invoices whose due date has passed (the (status, due_date) index serves it)."""
    return invoices.filter(status=InvoiceStatus.OPEN, due_date__lt=now or timezone.now())


def invoice_list(
    *,
    status: str | None = None,
    customer_id: UUID | None = None,
    is_past_due: bool = False,
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.select_related("customer")
    if status:
        invoices = invoices.filter(status=status)
    if customer_id:
        invoices = invoices.filter(customer_id=customer_id)
    return past_due(invoices) if is_past_due else invoices


def invoice_detail() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("customer").prefetch_related("lines")


def invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF the invoice was finalized with, exactly (docs/billing-documents.md)."""
    if invoice.pdf_sha256 is None:
        raise NotFound(
            "This invoice has no PDF: drafts have none, and invoices finalized before PDFs "
            "existed were not given one.",
            code="no_pdf",
        )
    sha256 = invoice.pdf_sha256
    return _checked(lambda: documents.invoice_pdf_read(invoice, sha256))


def _checked(read: Callable[[], bytes]) -> bytes:
    try:
        return read()
    except documents.DocumentMismatch:
        raise Conflict(
            "The stored PDF is missing or altered, and rendering it again would not give the "
            "document that was issued.",
            code="pdf_mismatch",
        ) from None


def credit_note_list(*, invoice: Invoice | None = None) -> QuerySet[CreditNote]:
    credit_notes = CreditNote.objects.select_related("invoice").prefetch_related("lines")
    return credit_notes if invoice is None else credit_notes.filter(invoice=invoice)


def credit_note_pdf(credit_note: CreditNote) -> bytes:
    """The PDF the credit note was issued with, exactly."""
    return _checked(lambda: documents.credit_note_pdf_read(credit_note))


# --- the hosted invoice page (docs/billing-documents.md) --------------------------------------

# Signatures made for the hosted page open nothing else, and nothing else opens it.
_HOSTED_SALT = "billing.hosted-invoice"


@dataclass(frozen=True)
class HostedLink:
    url: str
    pdf_url: str
    expires_at: datetime


def invoice_hosted_link(invoice: Invoice, *, now: datetime | None = None) -> HostedLink:
    """The signed link that shows ``invoice`` to its customer, no account needed, until
    BILLING_HOSTED_LINK_MAX_AGE seconds from now. Drafts have none: they are not sent."""
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict(
            "A draft is not shown to the customer: finalize it first.",
            code="invalid_transition",
            extensions={"current_status": invoice.status},
        )
    token = signing.TimestampSigner(salt=_HOSTED_SALT).sign(str(invoice.pk))
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return HostedLink(
        url=base + reverse("billing-hosted-invoice", args=[token]),
        pdf_url=base + reverse("billing-hosted-invoice-pdf", args=[token]),
        expires_at=(now or timezone.now())
        + timedelta(seconds=settings.BILLING_HOSTED_LINK_MAX_AGE),
    )


def _hosted_invoice_id(token: str) -> UUID | None:
    try:
        value = signing.TimestampSigner(salt=_HOSTED_SALT).unsign(
            token, max_age=settings.BILLING_HOSTED_LINK_MAX_AGE
        )
        return UUID(value)
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return None


@dataclass(frozen=True)
class HostedInvoice:
    invoice: Invoice
    paid: Decimal  # succeeded payments, less refunds
    remaining: Decimal  # what the customer still owes after credit notes (never below zero)


def hosted_invoice(token: str) -> HostedInvoice | None:
    """The invoice a hosted link names, with what the customer has paid and still owes; None
    for a link that is malformed, tampered with, expired, or names no finalized invoice (the
    page says the same for all of them)."""
    invoice_id = _hosted_invoice_id(token)
    if invoice_id is None:
        return None
    invoice = invoice_detail().exclude(status=InvoiceStatus.DRAFT).filter(pk=invoice_id).first()
    if invoice is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql.INVOICE_BALANCE, {"invoice": invoice.pk})
        _held, settled, refunded = cursor.fetchone()
    paid = settled - refunded
    owed = invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
    due = invoice.amount - invoice.credited_amount
    remaining = max(due - paid, Decimal("0.00")) if owed else Decimal("0.00")
    return HostedInvoice(invoice=invoice, paid=paid, remaining=remaining)


def payment_list(*, invoice_id: UUID | None = None) -> QuerySet[Payment]:
    payments = Payment.objects.all()
    return payments if invoice_id is None else payments.filter(invoice_id=invoice_id)


def refund_list(*, payment: Payment) -> QuerySet[Refund]:
    return Refund.objects.filter(payment=payment)


# --- reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthlyRevenue:
    month: datetime
    received: Decimal
    refunded: Decimal
    net: Decimal  # money moved: received less refunded
    invoiced: Decimal
    credited: Decimal
    voided: Decimal
    billed: Decimal  # invoiced less credit notes and voids


def revenue_by_month(*, months: int = 12, now: datetime | None = None) -> list[MonthlyRevenue]:
    """Per calendar month, the current month and ``months - 1`` before: money received net of
    refunds, and money billed net of credit notes and voids (billing/sql.py says how each
    counts)."""
    now = now or timezone.now()
    month_index = now.year * 12 + now.month - 1 - (months - 1)
    since = now.replace(
        year=month_index // 12,
        month=month_index % 12 + 1,
        day=1,
        hour=0,
        minute=0,
        second=0,
        microsecond=0,
    )
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql.REVENUE_BY_MONTH, {"since": since})
        return [MonthlyRevenue(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class OutstandingTotals:
    open_invoices: int
    outstanding: Decimal
    past_due_invoices: int
    past_due: Decimal
    credited: Decimal  # what credit notes took off the open invoices


def outstanding_totals(*, now: datetime | None = None) -> OutstandingTotals:
    """What open invoices still ask for, in all and past their due date."""
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql.OUTSTANDING_TOTALS, {"now": now or timezone.now()})
        return OutstandingTotals(*cursor.fetchone())


@dataclass(frozen=True)
class CustomerBalance:
    customer_id: UUID
    customer_name: str
    open_invoices: int
    outstanding: Decimal
    past_due: Decimal
    credited: Decimal  # what credit notes took off the open invoices


def outstanding_by_customer(
    *, limit: int = 100, now: datetime | None = None
) -> list[CustomerBalance]:
    """The ``limit`` customers owing the most, largest first."""
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql.OUTSTANDING_BY_CUSTOMER, {"now": now or timezone.now(), "limit": limit})
        return [CustomerBalance(*row) for row in cursor.fetchall()]


# A statement shows a customer's invoices, credit notes and payments: reading one takes the
# permission to read each, and the customer's own.
STATEMENT_PERMISSIONS = (
    "billing.view_customer",
    "billing.view_invoice",
    "billing.view_creditnote",
    "billing.view_payment",
)


@dataclass(frozen=True)
class StatementEntry:
    kind: str  # invoice, credit_note, payment, refund, void
    occurred_at: datetime
    reference: str  # the invoice's or credit note's number, the (refunded) payment's id
    invoice: str  # the number of the invoice it concerns
    amount: Decimal  # a debit (what the customer owes grows) positive, a credit negative
    balance: Decimal  # what the customer owes after it

    # The columns of a printed statement (the admin's page and CSV).
    @property
    def debit(self) -> Decimal | None:
        return self.amount if self.amount >= 0 else None

    @property
    def credit(self) -> Decimal | None:
        return -self.amount if self.amount < 0 else None


@dataclass(frozen=True)
class CustomerStatement:
    customer: Customer
    start: date
    end: date  # inclusive
    opening_balance: Decimal
    entries: list[StatementEntry]
    closing_balance: Decimal


def statement_period(
    start: date | None, end: date | None, *, today: date | None = None
) -> tuple[date, date]:
    """The days a statement covers: ``end`` by default today (UTC), ``start`` by default the
    first of ``end``'s month. A start after the end is refused, naming whichever was given."""
    end_given = end is not None
    end = end or today or timezone.now().date()
    start = start or end.replace(day=1)
    if start > end:
        field, message = (
            ("to", "Must be on or after `from`.")
            if end_given
            else (
                "from",
                f"Must be on or before `to` (by default today, {end.isoformat()}).",
            )
        )
        raise ValidationFailed(fields={field: [message]})
    return start, end


def customer_statement(customer: Customer, *, start: date, end: date) -> CustomerStatement:
    """The movements of ``customer``'s account from ``start`` to ``end`` (whole UTC days),
    between the balance before them and the balance after: one statement, billing/sql.py's
    CUSTOMER_STATEMENT, which says what each kind of movement is."""
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql.CUSTOMER_STATEMENT, {"customer": customer.pk, "from": start, "to": end})
        (_opening, _at, _ref, _inv, opening, _balance), *moves = cursor.fetchall()
    entries = [StatementEntry(*row) for row in moves]
    return CustomerStatement(
        customer=customer,
        start=start,
        end=end,
        opening_balance=opening,
        entries=entries,
        closing_balance=entries[-1].balance if entries else opening,
    )


# --- invoice emails (billing/services/sending.py) ----------------------------------------------


def invoice_send_list(*, invoice: Invoice | None = None) -> QuerySet[InvoiceSend]:
    """Emails of invoices, sends and reminders alike; one invoice's when given."""
    sends = InvoiceSend.objects.all()
    return sends if invoice is None else sends.filter(invoice=invoice)


def dunning_exhausted(*, limit: int) -> list[Invoice]:
    """Open invoices whose reminders ran out, longest waiting first: staff's to chase."""
    invoices = Invoice.objects.select_related("customer").filter(
        status=InvoiceStatus.OPEN, dunning_exhausted_at__isnull=False
    )
    return list(invoices.order_by("dunning_exhausted_at", "id")[:limit])
