"""The benchmark data set holds the same rules as data the services write."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from billing.models import Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentStatus
from billing.scale import billing_scale_load

# The loader drops and builds indexes on connections of its own.
pytestmark = pytest.mark.django_db(transaction=True)


def billing_indexes() -> set[str]:
    """By name: a rebuilt partial index's predicate may print differently (the same one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index"
            " WHERE indrelid = ANY(%(t)s::regclass[])"
            " UNION ALL SELECT conname || ' ' || contype::text FROM pg_constraint"
            " WHERE conrelid = ANY(%(t)s::regclass[]) OR confrelid = ANY(%(t)s::regclass[])",
            {"t": ["invoices", "invoice_lines", "payments"]},
        )
        return {row[0] for row in cursor.fetchall()}


def test_a_small_load_is_consistent():
    before = billing_indexes()

    result = billing_scale_load(invoices=400, customers=7, vacuum=False)

    assert Invoice.objects.count() == 400
    lines = dict(
        InvoiceLine.objects.values("invoice").annotate(t=Sum("total")).values_list("invoice", "t")
    )
    paid = dict(
        Payment.objects.filter(status=PaymentStatus.SUCCEEDED)
        .values("invoice")
        .annotate(t=Sum("amount"))
        .values_list("invoice", "t")
    )
    for invoice in Invoice.objects.all():
        assert lines[invoice.pk] == invoice.amount
        assert paid.get(invoice.pk, Decimal("0")) <= invoice.amount
        if invoice.status == InvoiceStatus.PAID:
            assert paid[invoice.pk] == invoice.amount
    assert result.payments == 2 * Invoice.objects.exclude(status=InvoiceStatus.DRAFT).count()
    # Every index and constraint is back (the foreign keys checked every row as they were).
    assert billing_indexes() == before


def test_loading_twice_is_refused():
    billing_scale_load(invoices=10, customers=2, vacuum=False)

    with pytest.raises(ValueError, match="already has invoices"):
        billing_scale_load(invoices=10, customers=2, vacuum=False)


def test_dry_run_loads_nothing():
    call_command("seed_billing_scale", "--dry-run", verbosity=0)

    assert not Invoice.objects.exists()
