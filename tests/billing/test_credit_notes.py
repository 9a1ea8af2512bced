"""Credit notes: a finalized invoice credited in part or in full, with a reason, numbered in a
sequence of its own, never beyond the invoice, never changed (docs/billing-documents.md)."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from billing import selectors
from billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceStatus, Payment
from billing.services import credit_notes, invoices
from billing.services.credit_notes import CreditLineInput
from billing.services.invoices import LineInput
from core.context import SYSTEM
from core.exceptions import Conflict, ValidationFailed
from core.models import AuditAction, AuditEvent, Event
from tests.billing.steps import BASE, pay
from tests.factories import CustomerFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def finalized(*amounts: str) -> Invoice:
    """An open invoice with one line per amount, finalized by the service (so it has its PDF)."""
    draft = invoices.invoice_create(
        customer=CustomerFactory(),
        due_date=timezone.now(),
        lines=[
            LineInput(quantity=Decimal("1"), description=f"Item {i}", unit_price=Decimal(a))
            for i, a in enumerate(amounts or ("100.00",), start=1)
        ],
        actor=None,
        context=SYSTEM,
    )
    return invoices.invoice_finalize(invoice=draft, actor=None, context=SYSTEM)


def issue(invoice, **kwargs) -> CreditNote:
    return credit_notes.credit_note_issue(
        invoice=invoice,
        reason=kwargs.pop("reason", "Goodwill"),
        actor=None,
        context=SYSTEM,
        **kwargs,
    )


def test_a_credit_is_numbered_in_its_own_sequence_and_reduces_what_remains_due(api):
    invoice = finalized("100.00")
    year = timezone.now().year

    response = api.post(
        f"{BASE}/invoices/{invoice.pk}/credit-notes",
        {"amount": "30.00", "reason": "Late delivery"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == f"CN-{year}-000001"
    assert (body["amount"], body["reason"]) == ("30.00", "Late delivery")
    assert body["lines"] == [
        {"position": 1, "invoice_line": None, "description": "Late delivery", "amount": "30.00"}
    ]
    detail = api.get(f"{BASE}/invoices/{invoice.pk}").json()
    assert detail["credited_amount"] == "30.00"
    assert detail["number"] == f"INV-{year}-000001"
    # 70.00 remains: a payment of 70.01 is an overpayment now.
    assert pay(api, invoice.pk, "70.01").status_code == 409
    assert pay(api, invoice.pk, "70.00").status_code == 201
    assert api.get(f"{BASE}/invoices/{invoice.pk}").json()["status"] == "paid"


def test_crediting_all_that_is_left_of_an_open_invoice_makes_it_paid(api):
    invoice = finalized("100.00")
    pay(api, invoice.pk, "40.00")

    issue(invoice, amount=Decimal("60.00"))

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert Event.objects.filter(type="invoice.paid", object_id=str(invoice.pk)).exists()


def test_lines_are_credited_by_position_up_to_what_is_left_of_each():
    invoice = finalized("100.00", "50.00")
    issue(invoice, lines=[CreditLineInput(line=2, amount=Decimal("20.00"))])

    credit = issue(invoice, lines=[CreditLineInput(line=1), CreditLineInput(line=2)])

    assert credit.amount == Decimal("130.00")
    assert [(line.description, line.amount) for line in credit.lines.all()] == [
        ("Item 1", Decimal("100.00")),
        ("Item 2", Decimal("30.00")),
    ]
    with pytest.raises(ValidationFailed) as refused:
        issue(invoice, lines=[CreditLineInput(line=2, amount=Decimal("0.01"))])
    assert "lines.0.amount" in refused.value.fields


def fields(response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


def test_the_api_names_the_field_of_a_bad_credit(api):
    invoice = finalized("100.00")
    url = f"{BASE}/invoices/{invoice.pk}/credit-notes"

    neither = api.post(url, {"reason": "x"}, format="json")
    no_reason = api.post(url, {"amount": "1.00", "reason": " "}, format="json")
    unknown_line = api.post(url, {"reason": "x", "lines": [{"line": 9}]}, format="json")
    too_much = api.post(url, {"reason": "x", "amount": "100.01"}, format="json")

    assert (neither.status_code, fields(neither)) == (400, ["amount"])
    assert (no_reason.status_code, fields(no_reason)) == (400, ["reason"])
    assert (unknown_line.status_code, fields(unknown_line)) == (400, ["lines.0.line"])
    assert (too_much.status_code, too_much.json()["code"]) == (409, "over_credit")
    assert not CreditNote.objects.exists()


def test_drafts_and_void_invoices_cannot_be_credited():
    invoice = finalized("100.00")
    invoices.invoice_void(invoice=invoice, actor=None, context=SYSTEM)

    with pytest.raises(Conflict):
        issue(invoice, amount=Decimal("1.00"))


def test_issuing_is_audited_announced_and_has_its_own_pdf(api):
    invoice = finalized("100.00")
    credit = issue(invoice, amount=Decimal("25.00"), reason="Returned seat")

    event = AuditEvent.objects.get(action=AuditAction.CREDIT_NOTE_ISSUED)
    announced = Event.objects.get(type="credit_note.issued")
    response = api.get(f"{BASE}/credit-notes/{credit.pk}/pdf")

    assert event.target_id == str(credit.pk)
    assert event.after["pdf_sha256"] == credit.pdf_sha256
    assert (announced.audience_kind, announced.audience_key) == (
        "permission",
        "billing.view_invoice",
    )
    assert announced.payload["number"] == credit.number
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == selectors.credit_note_pdf(credit)
    assert response.content.startswith(b"%PDF-")


def test_an_invoice_lists_its_credit_notes_newest_first(api):
    invoice = finalized("100.00")
    first = issue(invoice, amount=Decimal("10.00"))
    second = issue(invoice, amount=Decimal("5.00"))
    issue(finalized("100.00"), amount=Decimal("1.00"))  # another invoice's

    response = api.get(f"{BASE}/invoices/{invoice.pk}/credit-notes")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(second.pk), str(first.pk)]


def test_the_database_keeps_an_issued_credit_note_as_it_was():
    credit = issue(finalized("100.00"), amount=Decimal("10.00"))

    with pytest.raises(IntegrityError, match="final once issued"), transaction.atomic():
        CreditNote.objects.filter(pk=credit.pk).update(amount=Decimal("1.00"))
    with pytest.raises(IntegrityError, match="final once issued"), transaction.atomic():
        CreditNoteLine.objects.filter(credit_note=credit).delete()


def test_the_hosted_page_shows_the_credit_and_what_remains(client):
    invoice = finalized("100.00")
    issue(invoice, amount=Decimal("30.00"))
    invoice.refresh_from_db()

    page = client.get(urlsplit(selectors.invoice_hosted_link(invoice).url).path)

    assert "Remaining due: 70.00" in page.content.decode()


def test_the_admin_issues_a_credit_note_through_the_service(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["billing_manager"]))
    invoice = finalized("100.00")
    add = reverse("admin:billing_creditnote_add")

    refused = client.post(add, {"invoice": invoice.pk, "amount": "100.01", "reason": "x"})
    issued = client.post(add, {"invoice": invoice.pk, "amount": "12.00", "reason": "Discount"})

    assert refused.status_code == 200
    assert "left to credit" in refused.content.decode()
    assert issued.status_code == 302
    credit = CreditNote.objects.get()
    assert (credit.amount, credit.issued_by is not None) == (Decimal("12.00"), True)
    page = client.get(reverse("admin:billing_creditnote_change", args=[credit.pk]))
    assert reverse("admin:billing_creditnote_pdf", args=[credit.pk]) in page.content.decode()


def test_a_retried_request_with_the_same_idempotency_key_credits_once(api):
    invoice = finalized("100.00")
    url = f"{BASE}/invoices/{invoice.pk}/credit-notes"
    body = {"amount": "10.00", "reason": "Goodwill"}

    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="credit-1")
    again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="credit-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert CreditNote.objects.count() == 1


def test_crediting_a_paid_invoice_refunds_the_credit_through_the_payments(api):
    invoice = finalized("100.00")
    first = pay(api, invoice.pk, "60.00").json()
    second = pay(api, invoice.pk, "40.00").json()
    assert api.get(f"{BASE}/invoices/{invoice.pk}").json()["status"] == "paid"
    # Inside the test's one transaction both payments carry its start time; recorded apart,
    # as they are outside a test, the first is the older.
    Payment.objects.filter(pk=first["id"]).update(created_at=F("created_at") - timedelta(seconds=1))

    credit = issue(invoice, amount=Decimal("50.00"), reason="Returned goods")

    # The newest payment is refunded first, then the one before, as far as the credit goes.
    refunded = {
        p["id"]: p for p in api.get(f"{BASE}/payments?invoice={invoice.pk}").json()["results"]
    }
    assert (refunded[second["id"]]["refunded_amount"], refunded[second["id"]]["status"]) == (
        "40.00",
        "refunded",
    )
    assert (refunded[first["id"]]["refunded_amount"], refunded[first["id"]]["status"]) == (
        "10.00",
        "succeeded",
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID  # what is paid is exactly what is owed now
    refunds = AuditEvent.objects.filter(action=AuditAction.PAYMENT_REFUNDED)
    assert sorted(event.after["amount"] for event in refunds) == ["10.00", "40.00"]
    assert {event.after["reason"] for event in refunds} == {f"Credit note {credit.number}"}
    assert Event.objects.filter(type="payment.refunded").count() == 2
    # The revenue report counts money moved: the refund shows there.
    (month,) = api.get(f"{BASE}/reports/revenue?months=1").json()
    assert (month["received"], month["refunded"], month["net"]) == ("100.00", "50.00", "50.00")


def test_a_credit_that_leaves_a_part_paid_invoice_overpaid_refunds_the_excess(api):
    invoice = finalized("100.00")
    pay(api, invoice.pk, "80.00")

    issue(invoice, amount=Decimal("50.00"))

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    (payment,) = api.get(f"{BASE}/payments?invoice={invoice.pk}").json()["results"]
    assert payment["refunded_amount"] == "30.00"


def test_a_credit_within_what_is_unpaid_refunds_nothing(api):
    invoice = finalized("100.00")
    pay(api, invoice.pk, "30.00")

    issue(invoice, amount=Decimal("70.00"))

    assert not AuditEvent.objects.filter(action=AuditAction.PAYMENT_REFUNDED).exists()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
