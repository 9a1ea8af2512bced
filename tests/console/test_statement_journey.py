"""A customer's statement read in the console as staff would: from the customer's page, its
period narrowed with the filters, then downloaded."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from billing.models import Invoice, InvoiceStatus
from tests import factories
from tests.billing.factories import invoice_with_lines
from tests.console.test_staff_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customers_statement_is_read_filtered_and_downloaded(page: Page, synced_roles):
    staff = factories.StaffUserFactory(roles=["staff"])
    customer = factories.CustomerFactory(name="Acme Ltd")
    invoice = invoice_with_lines(amount=Decimal("250.00"), status=InvoiceStatus.OPEN)
    Invoice.objects.filter(pk=invoice.pk).update(customer=customer)
    factories.PaymentFactory(invoice=invoice, amount=Decimal("100.00"))
    sign_in(page, staff)

    page.goto(f"/admin/billing/customer/{customer.pk}/change/")
    page.click("text=Statement")
    # The filter shows the days the defaults chose: this month to today.
    today = timezone.now().date()
    expect(page.locator("#id_end")).to_have_value(today.isoformat())
    expect(page.locator("#id_start")).to_have_value(today.replace(day=1).isoformat())

    statement = page.locator("#statement")
    expect(statement).to_contain_text(invoice.number)
    expect(statement.locator("tr.balance").last).to_contain_text("150.00")

    # A period before anything happened: no movements, nothing owed.
    page.fill("#id_start", "2001-01-01")
    page.fill("#id_end", "2001-01-31")
    page.click("input[value=Show]")
    expect(statement).to_contain_text("No movements in this period.")
    expect(statement.locator("tr.balance").last).to_contain_text("0.00")

    page.fill("#id_end", today.isoformat())
    page.click("input[value=Show]")
    with page.expect_download() as download:
        page.click("text=Download as CSV")
    rows = download.value.path().read_text().splitlines()
    assert rows[-1].endswith(",closing,,,,,150.00")
