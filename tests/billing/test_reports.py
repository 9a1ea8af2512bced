"""Revenue by month and what customers owe, summed by PostgreSQL; the past-due report."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing import selectors
from billing.models import Invoice, InvoiceStatus, Payment, PaymentStatus
from billing.services import credit_notes, invoices
from core.context import SYSTEM
from tests.billing.factories import RefundFactory, invoice_with_lines
from tests.billing.steps import BASE
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def _month_start(months_ago: int):
    now = timezone.now()
    index = now.year * 12 + now.month - 1 - months_ago
    return now.replace(year=index // 12, month=index % 12 + 1, day=1, hour=12)


def test_revenue_by_month_counts_succeeded_payments_less_refunds(api):
    invoice = invoice_with_lines(amount=Decimal("1000.00"), status=InvoiceStatus.OPEN)
    this_month, last_month = _month_start(0), _month_start(1)
    for amount, status, when in [
        ("100.10", PaymentStatus.SUCCEEDED, last_month),
        ("50.00", PaymentStatus.SUCCEEDED, this_month),
        ("70.00", PaymentStatus.FAILED, this_month),
        ("30.00", PaymentStatus.PENDING, this_month),
    ]:
        payment = PaymentFactory(invoice=invoice, amount=Decimal(amount), status=status)
        Payment.objects.filter(pk=payment.pk).update(created_at=when)
    refunded = Payment.objects.get(amount=Decimal("100.10"))
    refund = RefundFactory(payment=refunded, amount=Decimal("0.10"))
    type(refund).objects.filter(pk=refund.pk).update(created_at=this_month)

    response = api.get(f"{BASE}/reports/revenue?months=2")

    assert response.status_code == 200
    assert [(r["received"], r["refunded"], r["net"]) for r in response.json()] == [
        ("100.10", "0.00", "100.10"),
        ("50.00", "0.10", "49.90"),
    ]


def test_revenue_months_out_of_range_is_a_400(api):
    response = api.get(f"{BASE}/reports/revenue?months=0")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "months"


def test_outstanding_and_past_due_per_customer(api):
    owing, settled = CustomerFactory(name="Owing"), CustomerFactory(name="Settled")
    past = timezone.now() - timedelta(days=5)
    late = invoice_with_lines(
        amount=Decimal("100.00"), status=InvoiceStatus.OPEN, customer=owing, due_date=past
    )
    PaymentFactory(invoice=late, amount=Decimal("40.00"))
    invoice_with_lines(amount=Decimal("25.50"), status=InvoiceStatus.OPEN, customer=owing)
    invoice_with_lines(amount=Decimal("99.00"), status=InvoiceStatus.PAID, customer=settled)
    invoice_with_lines(amount=Decimal("10.00"), status=InvoiceStatus.VOID, customer=settled)

    response = api.get(f"{BASE}/reports/outstanding")

    assert response.json() == [
        {
            "customer_id": str(owing.pk),
            "customer_name": "Owing",
            "open_invoices": 2,
            "outstanding": "85.50",
            "past_due": "60.00",
            "credited": "0.00",
        }
    ]


def test_report_past_due_command_lists_overdue_invoices_and_customers():
    customer = CustomerFactory(name="Late Payer Ltd")
    overdue = invoice_with_lines(
        status=InvoiceStatus.OPEN,
        customer=customer,
        due_date=timezone.now() - timedelta(days=3),
    )
    invoice_with_lines(status=InvoiceStatus.OPEN)  # not due yet
    out = StringIO()

    call_command("report_past_due", stdout=out)

    assert overdue.number in out.getvalue()
    assert "Late Payer Ltd" in out.getvalue()
    assert out.getvalue().count("INV-") == 1


def test_revenue_bills_invoices_less_credit_notes_and_voids_in_their_months(api):
    last_month = _month_start(1)
    credited = invoice_with_lines(amount=Decimal("200.00"), status=InvoiceStatus.OPEN)
    voided = invoice_with_lines(amount=Decimal("80.00"), status=InvoiceStatus.OPEN)
    Invoice.objects.filter(pk__in=[credited.pk, voided.pk]).update(finalized_at=last_month)
    PaymentFactory(invoice=credited, amount=Decimal("50.00"))
    credit_notes.credit_note_issue(
        invoice=credited, amount=Decimal("30.00"), reason="Late", actor=None, context=SYSTEM
    )
    credit_notes.credit_note_issue(
        invoice=voided, amount=Decimal("5.00"), reason="Late", actor=None, context=SYSTEM
    )
    invoices.invoice_void(invoice=voided, actor=None, context=SYSTEM)
    invoice_with_lines(status=InvoiceStatus.DRAFT)  # a draft bills nothing

    response = api.get(f"{BASE}/reports/revenue?months=2")

    columns = ("invoiced", "credited", "voided", "billed", "received", "net")
    assert [tuple(row[name] for name in columns) for row in response.json()] == [
        ("280.00", "0.00", "0.00", "280.00", "0.00", "0.00"),
        # The credit notes lower what was billed, not what was received; the void takes off
        # what its invoice still asked for after its credit note.
        ("0.00", "35.00", "75.00", "-110.00", "50.00", "50.00"),
    ]


def test_outstanding_totals_are_net_of_credit_notes():
    invoice = invoice_with_lines(amount=Decimal("100.00"), status=InvoiceStatus.OPEN)
    PaymentFactory(invoice=invoice, amount=Decimal("10.00"))
    credit_notes.credit_note_issue(
        invoice=invoice, amount=Decimal("25.00"), reason="Late", actor=None, context=SYSTEM
    )

    totals = selectors.outstanding_totals()

    assert (totals.outstanding, totals.credited) == (Decimal("65.00"), Decimal("25.00"))
