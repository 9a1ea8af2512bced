"""Reads for billing. List selectors return querysets the API pages with keyset pagination;
the reports are single SQL statements whose sums PostgreSQL computes."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from .models import Customer, Invoice, InvoiceStatus, Payment, Product, Refund


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
    net: Decimal


# Money is counted when it moves: a payment in the month it succeeded (recorded), a refund in
# the month it was given. Months are UTC (Django's connections run in UTC). Each side is summed
# per month before the two are combined, over the partial index payments_settled_idx.
REVENUE_SQL = """
    SELECT month, sum(received), sum(refunded), sum(received) - sum(refunded)
    FROM (
        SELECT date_trunc('month', created_at) AS month, sum(amount) AS received,
               0 AS refunded
        FROM payments
        WHERE status IN ('succeeded', 'refunded') AND created_at >= %(since)s
        GROUP BY 1
        UNION ALL
        SELECT date_trunc('month', created_at), 0, sum(amount)
        FROM refunds
        WHERE created_at >= %(since)s
        GROUP BY 1
    ) moves
    GROUP BY month
    ORDER BY month
"""


def revenue_by_month(*, months: int = 12, now: datetime | None = None) -> list[MonthlyRevenue]:
    """Net money received per calendar month, the current month and ``months - 1`` before."""
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
    with connection.cursor() as cursor:
        cursor.execute(REVENUE_SQL, {"since": since})
        return [MonthlyRevenue(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class CustomerBalance:
    customer_id: UUID
    customer_name: str
    open_invoices: int
    outstanding: Decimal
    past_due: Decimal


# What each customer still owes on open invoices (amount less succeeded payments net of
# refunds), and the part of it already past due.
OUTSTANDING_SQL = """
    SELECT c.id, c.name, count(*),
           sum(i.amount - coalesce(p.paid, 0)),
           coalesce(sum(i.amount - coalesce(p.paid, 0)) FILTER (WHERE i.due_date < %(now)s), 0)
    FROM invoices i
    JOIN customers c ON c.id = i.customer_id
    LEFT JOIN LATERAL (
        SELECT sum(amount) FILTER (WHERE status IN ('succeeded', 'refunded'))
               - sum(refunded_amount) AS paid
        FROM payments WHERE invoice_id = i.id
    ) p ON true
    WHERE i.status = 'open'
    GROUP BY c.id, c.name
    ORDER BY 4 DESC, c.id
    LIMIT %(limit)s
"""


def outstanding_by_customer(
    *, limit: int = 100, now: datetime | None = None
) -> list[CustomerBalance]:
    """The ``limit`` customers owing the most, largest first."""
    with connection.cursor() as cursor:
        cursor.execute(OUTSTANDING_SQL, {"now": now or timezone.now(), "limit": limit})
        return [CustomerBalance(*row) for row in cursor.fetchall()]
