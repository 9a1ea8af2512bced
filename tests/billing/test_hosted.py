"""The hosted invoice page: a signed, expiring link shows one invoice to its customer and
nothing to anyone else (docs/billing-documents.md)."""

import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.utils.dateparse import parse_datetime

from billing import selectors
from billing.models import InvoiceStatus
from billing.services import invoices
from core.context import SYSTEM
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def finalized(**kwargs):
    draft = invoice_with_lines(status=InvoiceStatus.DRAFT, **kwargs)
    return invoices.invoice_finalize(invoice=draft, actor=None, context=SYSTEM)


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def acme_invoice():
    return finalized(
        amount=Decimal("300.00"), customer=CustomerFactory(name="Acme", email="ap@acme.example")
    )


@pytest.fixture
def globex_invoice():
    return finalized(
        amount=Decimal("999.00"),
        customer=CustomerFactory(name="Globex", email="ap@globex.example"),
    )


def test_staff_get_a_link_that_shows_the_invoice_status_and_what_remains(api, client, acme_invoice):
    PaymentFactory(invoice=acme_invoice, amount=Decimal("120.00"))
    link = api.get(f"{BASE}/invoices/{acme_invoice.pk}/hosted-link").json()

    page = client.get(path_of(link["url"]))

    assert page.status_code == 200
    text = page.content.decode()
    assert acme_invoice.number in text
    assert "Acme" in text
    assert "Remaining due: 180.00" in text
    assert "Pay by bank transfer" in text
    assert page["Cache-Control"].startswith("max-age=0")
    assert page["Referrer-Policy"] == "no-referrer"


def test_the_pdf_link_serves_the_stored_pdf(api, client, acme_invoice):
    link = api.get(f"{BASE}/invoices/{acme_invoice.pk}/hosted-link").json()

    page = client.get(path_of(link["url"]))
    response = client.get(path_of(link["pdf_url"]))

    assert path_of(link["pdf_url"]) in page.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == selectors.invoice_pdf(acme_invoice)


def test_a_paid_invoice_shows_nothing_due(client, acme_invoice):
    PaymentFactory(invoice=acme_invoice, amount=Decimal("300.00"))
    acme_invoice.status = InvoiceStatus.PAID
    acme_invoice.save()

    page = client.get(path_of(selectors.invoice_hosted_link(acme_invoice).url))

    assert "Nothing remains due" in page.content.decode()


def test_a_link_shows_its_own_customer_only(client, acme_invoice, globex_invoice):
    page = client.get(path_of(selectors.invoice_hosted_link(acme_invoice).url)).content.decode()

    assert "Acme" in page
    assert "Globex" not in page
    assert globex_invoice.number not in page
    assert "999.00" not in page


def _not_found_page(client) -> bytes:
    return client.get("/billing/invoices/not-a-link/").content


def test_a_link_pointed_at_another_invoice_is_not_found(client, acme_invoice, globex_invoice):
    token = path_of(selectors.invoice_hosted_link(acme_invoice).url).split("/")[3]
    forged = token.replace(str(acme_invoice.pk), str(globex_invoice.pk))

    for path in (f"/billing/invoices/{forged}/", f"/billing/invoices/{forged}/pdf"):
        response = client.get(path)
        assert response.status_code == 404
        assert globex_invoice.number.encode() not in response.content


def test_a_tampered_signature_is_not_found_and_says_nothing_more(client, acme_invoice):
    token = path_of(selectors.invoice_hosted_link(acme_invoice).url).split("/")[3]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = client.get(f"/billing/invoices/{tampered}/")

    assert response.status_code == 404
    assert response.content.replace(tampered.encode(), b"") == _not_found_page(client).replace(
        b"not-a-link", b""
    )


class _SignedLongAgo(signing.TimestampSigner):
    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - 3600)


def test_an_expired_link_is_not_found(client, settings, acme_invoice):
    settings.BILLING_HOSTED_LINK_MAX_AGE = 600
    token = _SignedLongAgo(salt="billing.hosted-invoice").sign(str(acme_invoice.pk))

    assert client.get(f"/billing/invoices/{token}/").status_code == 404
    assert client.get(f"/billing/invoices/{token}/pdf").status_code == 404


def test_a_signature_made_for_something_else_opens_nothing(client, acme_invoice):
    token = signing.TimestampSigner().sign(str(acme_invoice.pk))

    assert client.get(f"/billing/invoices/{token}/").status_code == 404


def test_a_draft_has_no_hosted_link(api):
    draft = invoice_with_lines(status=InvoiceStatus.DRAFT)

    response = api.get(f"{BASE}/invoices/{draft.pk}/hosted-link")

    assert response.status_code == 409
    token = signing.TimestampSigner(salt="billing.hosted-invoice").sign(str(draft.pk))
    assert selectors.hosted_invoice(token) is None


def test_the_link_expires_when_the_settings_say(api, settings, acme_invoice):
    settings.BILLING_HOSTED_LINK_MAX_AGE = 3600
    before = time.time()

    link = api.get(f"{BASE}/invoices/{acme_invoice.pk}/hosted-link").json()

    expires = parse_datetime(link["expires_at"]).timestamp()
    assert before + 3600 - 1 <= expires <= time.time() + 3600 + 1
