"""Invoice PDFs: rendered and stored once at finalization, never changed afterwards, served
byte for byte (docs/billing-documents.md)."""

import hashlib
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from PIL import Image

from billing import documents, pdf
from billing.models import Invoice, InvoiceNumberSequence, InvoiceStatus
from billing.services import invoices
from core.context import SYSTEM
from core.models import AuditAction, AuditEvent
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def finalized(**kwargs) -> Invoice:
    draft = invoice_with_lines(status=InvoiceStatus.DRAFT, **kwargs)
    return invoices.invoice_finalize(invoice=draft, actor=None, context=SYSTEM)


def stored_files(root) -> list:
    return sorted(root.rglob("*.pdf"))


def test_finalizing_stores_one_pdf_whose_digest_is_on_the_invoice_and_in_the_audit_trail(
    billing_documents,
):
    invoice = finalized(amount=Decimal("250.00"))

    (stored,) = stored_files(billing_documents)
    content = stored.read_bytes()
    assert content.startswith(b"%PDF-")
    assert hashlib.sha256(content).hexdigest() == invoice.pdf_sha256
    event = AuditEvent.objects.get(action=AuditAction.INVOICE_FINALIZED, target_id=str(invoice.pk))
    assert event.after["pdf_sha256"] == invoice.pdf_sha256
    assert event.after["number"] == invoice.number


def test_rendering_the_invoice_again_gives_the_same_bytes(billing_documents):
    invoice = Invoice.objects.get(pk=finalized().pk)

    again = pdf.render(documents.invoice_document(invoice), documents.issuer())

    assert again == stored_files(billing_documents)[0].read_bytes()


def test_a_logo_from_the_settings_goes_on_the_pdf_and_keeps_it_deterministic(settings, tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (40, 20), (200, 30, 30)).save(logo)
    settings.BILLING_COMPANY_LOGO = str(logo)
    invoice = Invoice.objects.get(pk=finalized().pk)

    content = documents.invoice_pdf_read(invoice, invoice.pdf_sha256)

    assert b"/Subtype /Image" in content
    assert pdf.render(documents.invoice_document(invoice), documents.issuer()) == content


def test_when_rendering_fails_the_invoice_stays_a_draft_and_keeps_no_number(settings, tmp_path):
    settings.BILLING_COMPANY_LOGO = str(tmp_path / "missing-logo.png")
    draft = invoice_with_lines(status=InvoiceStatus.DRAFT)

    with pytest.raises(FileNotFoundError):
        invoices.invoice_finalize(invoice=draft, actor=None, context=SYSTEM)

    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.pdf_sha256) == (InvoiceStatus.DRAFT, None, None)
    assert not InvoiceNumberSequence.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.INVOICE_FINALIZED).exists()


def test_the_database_refuses_to_change_a_recorded_pdf_digest():
    invoice = finalized()

    with pytest.raises(IntegrityError, match="is final"), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(pdf_sha256="0" * 64)


def test_the_api_serves_the_stored_pdf_byte_for_byte(api, billing_documents):
    invoice = finalized()

    response = api.get(f"{BASE}/invoices/{invoice.pk}/pdf", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    assert response.content == stored_files(billing_documents)[0].read_bytes()
    detail = api.get(f"{BASE}/invoices/{invoice.pk}").json()
    assert detail["pdf_sha256"] == invoice.pdf_sha256


def test_a_draft_has_no_pdf(api):
    draft = invoice_with_lines(status=InvoiceStatus.DRAFT)

    response = api.get(f"{BASE}/invoices/{draft.pk}/pdf")

    assert response.status_code == 404
    assert response.json()["code"] == "no_pdf"


def test_a_lost_file_is_rendered_again_identically_and_stored_back(api, billing_documents):
    invoice = finalized()
    (stored,) = stored_files(billing_documents)
    original = stored.read_bytes()
    stored.unlink()

    response = api.get(f"{BASE}/invoices/{invoice.pk}/pdf")

    assert response.status_code == 200
    assert response.content == original
    assert stored.read_bytes() == original


def test_a_lost_file_that_would_render_differently_is_refused(api, billing_documents):
    invoice = finalized()
    stored_files(billing_documents)[0].unlink()
    # The customer moved since: a new render would show the new address, not what was sent.
    invoice.customer.address = "Somewhere else"
    invoice.customer.save()

    response = api.get(f"{BASE}/invoices/{invoice.pk}/pdf")

    assert response.status_code == 409
    assert response.json()["code"] == "pdf_mismatch"


def test_an_altered_file_is_refused(api, billing_documents):
    invoice = finalized()
    (stored,) = stored_files(billing_documents)
    stored.write_bytes(stored.read_bytes().replace(b"Invoice", b"Invoicf", 1))

    response = api.get(f"{BASE}/invoices/{invoice.pk}/pdf")

    assert response.status_code == 409


def test_the_admin_invoice_page_links_to_its_pdf(client, synced_roles, billing_documents):
    client.force_login(StaffUserFactory(roles=["billing_manager"]))
    invoice = finalized()
    download = reverse("admin:billing_invoice_pdf", args=[invoice.pk])

    page = client.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    response = client.get(download)

    assert download in page.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == stored_files(billing_documents)[0].read_bytes()


def test_the_admin_pdf_needs_the_right_to_see_invoices(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["member"]))
    invoice = finalized()

    response = client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))

    assert response.status_code == 403
