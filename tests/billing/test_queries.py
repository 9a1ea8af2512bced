"""Every billing list and report runs a fixed number of queries, however many rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import InvoiceStatus
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE
from tests.factories import CustomerFactory, PaymentFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _rows(count: int) -> None:
    for _ in range(count):
        ProductFactory()
        invoice = invoice_with_lines(
            status=InvoiceStatus.OPEN,
            amount=Decimal("50.00"),
            due_date=timezone.now() - timedelta(days=2),
        )
        PaymentFactory(invoice=invoice, amount=Decimal("20.00"))
    CustomerFactory()


# Every request: the session lookup (which brings the caller's permissions); then the page.
LISTS = {
    "/customers": 2,
    "/products": 2,
    "/products?active=true": 2,
    "/invoices": 2,
    "/invoices?past_due=true": 2,
    "/invoices?status=open": 2,
    "/payments": 2,
    "/reports/revenue": 2,
    "/reports/outstanding": 2,
}


@pytest.mark.parametrize("path", LISTS)
def test_list_query_count_is_pinned_and_does_not_grow_with_rows(api, path):
    counts = []
    for more in (1, 4):
        _rows(more)
        with CaptureQueriesContext(connection) as queries:
            response = api.get(BASE + path)
        assert response.status_code == 200, response.content
        counts.append(len(queries))

    assert counts == [LISTS[path]] * 2, counts
