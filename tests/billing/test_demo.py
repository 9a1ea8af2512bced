"""The demo's billing is written by the billing services, and a dry run only counts it."""

import pytest
from django.utils import timezone

from billing.demo import seed_billing
from billing.models import Invoice, InvoiceStatus
from core.demo import DemoSummary
from core.models import AuditAction, AuditEvent
from tests.test_seed_demo import row_counts

pytestmark = pytest.mark.django_db


def _seed(*, dry_run: bool) -> DemoSummary:
    summary = DemoSummary(dry_run=dry_run)
    seed_billing(now=timezone.now(), summary=summary)
    return summary


def test_a_dry_run_writes_nothing_and_counts_what_the_run_then_creates():
    before = row_counts()

    counted = _seed(dry_run=True)
    assert row_counts() == before
    created = _seed(dry_run=False)

    assert counted.created == created.created
    after = row_counts()
    assert after["billing.Invoice"] == created.created["invoices"]
    assert after["billing.Payment"] == created.created["payments"]
    assert after["billing.Refund"] == created.created["refunds"]


def test_demo_invoices_went_through_the_services_that_number_and_audit_them():
    _seed(dry_run=False)

    finalized = Invoice.objects.exclude(status=InvoiceStatus.DRAFT)
    assert finalized.exists()
    assert not finalized.filter(number__isnull=True).exists()
    assert set(finalized.values_list("status", flat=True)) == {
        InvoiceStatus.OPEN,
        InvoiceStatus.PAID,
        InvoiceStatus.VOID,
        InvoiceStatus.UNCOLLECTIBLE,
    }
    audited = AuditEvent.objects.filter(action=AuditAction.INVOICE_FINALIZED)
    assert audited.count() == finalized.count()


def test_seeding_again_creates_nothing():
    _seed(dry_run=False)

    assert not _seed(dry_run=False).created
