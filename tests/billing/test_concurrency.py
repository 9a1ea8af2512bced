"""Many clients at once, each in its own thread with its own database connection and its
own committed transactions: what the row locks and unique keys must hold."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from billing.models import CreditNote, Invoice, InvoiceStatus, Payment, PaymentStatus
from billing.services import invoices
from core.context import SYSTEM
from tests.billing.conftest import client_for
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE, pay, transition
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 20


def _at_once(count: int, request: Callable[[int], object]) -> list:
    """Runs ``request(i)`` in ``count`` threads released together."""
    start = Barrier(count)

    def run(i: int):
        try:
            start.wait()
            return request(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def manager_client(synced_roles):
    return client_for(StaffUserFactory(roles=["billing_manager"]))


def test_twenty_parallel_payments_never_pay_more_than_the_invoice(manager_client):
    invoice = invoice_with_lines(amount=Decimal("100.00"), status=InvoiceStatus.OPEN)

    responses = _at_once(CLIENTS, lambda i: pay(manager_client, invoice.pk, "15.00"))

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 6 + [409] * 14
    paid = Payment.objects.filter(invoice=invoice, status=PaymentStatus.SUCCEEDED)
    assert paid.aggregate(total=Sum("amount"))["total"] == Decimal("90.00")
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.OPEN


def test_parallel_payments_that_exactly_cover_the_invoice_pay_it_once(manager_client):
    invoice = invoice_with_lines(amount=Decimal("100.00"), status=InvoiceStatus.OPEN)

    responses = _at_once(CLIENTS, lambda i: pay(manager_client, invoice.pk, "10.00"))

    assert sorted(r.status_code for r in responses) == [201] * 10 + [409] * 10
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_the_same_idempotency_key_sent_concurrently_makes_one_payment(manager_client):
    invoice = invoice_with_lines(amount=Decimal("100.00"), status=InvoiceStatus.OPEN)

    responses = _at_once(
        CLIENTS // 2, lambda i: pay(manager_client, invoice.pk, "10.00", key="same-key")
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_concurrent_finalizations_get_distinct_gap_free_numbers(manager_client):
    drafts = [invoice_with_lines(status=InvoiceStatus.DRAFT) for _ in range(CLIENTS // 2)]

    responses = _at_once(
        len(drafts), lambda i: transition(manager_client, drafts[i].pk, "finalize")
    )

    assert {r.status_code for r in responses} == {200}
    year = timezone.now().year
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == [f"INV-{year}-{n:06d}" for n in range(1, len(drafts) + 1)]


def test_parallel_credit_notes_never_credit_more_than_the_invoice(manager_client):
    draft = invoice_with_lines(amount=Decimal("100.00"), status=InvoiceStatus.DRAFT)
    invoice = invoices.invoice_finalize(invoice=draft, actor=None, context=SYSTEM)
    url = f"{BASE}/invoices/{invoice.pk}/credit-notes"

    responses = _at_once(
        8,
        lambda i: manager_client.post(
            url, {"amount": "15.00", "reason": "Goodwill"}, format="json"
        ),
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 6 + [409] * 2
    invoice.refresh_from_db()
    assert invoice.credited_amount == Decimal("90.00")
    year = timezone.now().year
    assert sorted(CreditNote.objects.values_list("number", flat=True)) == [
        f"CN-{year}-{n:06d}" for n in range(1, 7)
    ]
