"""Invoices by email: a send is recorded with its job, the job emails the PDF and the hosted
link once however often it runs, and a failure is kept on the send for staff to see
(docs/billing-documents.md)."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import InvoiceSend, InvoiceSendStatus, InvoiceStatus
from billing.services import invoices, sending
from billing.services.invoices import LineInput
from billing.tasks import EmailNotSent
from core.context import SYSTEM
from core.jobs import app
from core.models import AuditAction, AuditEvent, Event
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE
from tests.factories import CustomerFactory, StaffUserFactory
from tests.jobs import queued, run_queued_jobs

pytestmark = pytest.mark.django_db

SEND_TASK = "billing.send_invoice_email"


def finalized(amount: str = "120.00", email: str = "ap@acme.example"):
    """An open invoice finalized by the service, so it has its PDF."""
    draft = invoices.invoice_create(
        customer=CustomerFactory(name="Acme Ltd", email=email),
        due_date=timezone.now() + timezone.timedelta(days=14),
        lines=[LineInput(quantity=Decimal("1"), description="Audit", unit_price=Decimal(amount))],
        actor=None,
        context=SYSTEM,
    )
    return invoices.invoice_finalize(invoice=draft, actor=None, context=SYSTEM)


def send(api, invoice, body=None, **headers):
    return api.post(f"{BASE}/invoices/{invoice.pk}/send", body or {}, format="json", **headers)


def sends(api, invoice) -> list[dict]:
    response = api.get(f"{BASE}/invoices/{invoice.pk}/sends")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_a_sent_invoice_reaches_the_customer_with_its_pdf_and_hosted_link(api, manager):
    invoice = finalized()

    response = send(api, invoice)

    assert response.status_code == 202, response.content
    queued_send = response.json()
    assert (queued_send["to"], queued_send["status"]) == ("ap@acme.example", "queued")
    assert queued_send["requested_by"] == str(manager.pk)
    assert mail.outbox == []  # nothing leaves before the worker takes the job
    assert run_queued_jobs() == 1

    (message,) = mail.outbox
    assert message.to == ["ap@acme.example"]
    assert message.subject == f"Invoice {invoice.number} from Atrium Demo Ltd"
    assert "/billing/invoices/" in message.body and "Still to pay: 120.00" in message.body
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html" and f"<strong>{invoice.number}</strong>" in html
    ((name, content, attached_type),) = message.attachments
    assert (name, attached_type) == (f"{invoice.number}.pdf", "application/pdf")
    assert content == api.get(f"{BASE}/invoices/{invoice.pk}/pdf").content
    # The link in the email opens the invoice's page, no account needed.
    link = next(word for word in message.body.split() if "/billing/invoices/" in word)
    page = api.get(link.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200 and invoice.number in page.content.decode()

    (recorded,) = sends(api, invoice)
    assert (recorded["status"], recorded["attempts"], recorded["last_error"]) == ("sent", 1, "")
    assert recorded["sent_at"] is not None
    event = Event.objects.get(type="invoice.sent")
    # The send as its list shows it, heard by whoever may read sends.
    assert event.payload == recorded
    assert (event.audience_kind, event.audience_key) == ("permission", "billing.view_invoicesend")
    assert AuditEvent.objects.filter(action=AuditAction.INVOICE_SENT, actor=manager).exists()
    assert AuditEvent.objects.filter(action=AuditAction.INVOICE_SEND_REQUESTED).exists()


def test_a_send_goes_to_the_address_given(api):
    invoice = finalized()

    response = send(api, invoice, {"to": "accounts@elsewhere.example"})
    run_queued_jobs()

    assert response.json()["to"] == "accounts@elsewhere.example"
    assert mail.outbox[0].to == ["accounts@elsewhere.example"]


def test_a_bad_address_is_a_400_naming_the_field(api):
    response = send(api, finalized(), {"to": "not an address"})

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["to"]
    assert InvoiceSend.objects.count() == 0


@pytest.mark.parametrize("status", [InvoiceStatus.DRAFT, InvoiceStatus.VOID])
def test_drafts_and_void_invoices_are_not_sent(api, status):
    invoice = invoice_with_lines(status=status)

    response = send(api, invoice)

    assert response.status_code == 409
    assert response.json()["current_status"] == status
    assert f"that is {status}" in response.json()["detail"]
    assert InvoiceSend.objects.count() == 0 and queued(SEND_TASK) == []


@pytest.mark.parametrize("status", [InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE])
def test_paid_and_uncollectible_invoices_may_be_sent(api, status):
    invoice = invoice_with_lines(status=status)

    assert send(api, invoice).status_code == 202
    run_queued_jobs()

    assert len(mail.outbox) == 1
    # Invoices finalized before PDFs existed have none to attach; the link still shows them.
    assert mail.outbox[0].attachments == []


def test_a_job_run_twice_sends_once():
    invoice = finalized()
    queued_send = sending.invoice_send(invoice=invoice, actor=None, context=SYSTEM)

    app.tasks[SEND_TASK](send_id=str(queued_send.pk))
    app.tasks[SEND_TASK](send_id=str(queued_send.pk))  # a retry, or a recovered job

    assert len(mail.outbox) == 1
    queued_send.refresh_from_db()
    assert (queued_send.status, queued_send.attempts) == (InvoiceSendStatus.SENT, 1)
    assert Event.objects.filter(type="invoice.sent").count() == 1


def test_the_same_idempotency_key_sends_once(api):
    invoice = finalized()

    first = send(api, invoice, HTTP_IDEMPOTENCY_KEY="send-1")
    again = send(api, invoice, HTTP_IDEMPOTENCY_KEY="send-1")
    run_queued_jobs()

    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    assert len(mail.outbox) == 1


def test_a_refused_email_is_recorded_as_failed_then_retried(api, settings):
    invoice = finalized()
    queued_send = send(api, invoice).json()
    settings.EMAIL_BACKEND = "tests.mail.RefusingBackend"

    with pytest.raises(EmailNotSent):  # the job fails, so procrastinate retries it
        run_queued_jobs()

    (failed,) = sends(api, invoice)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert failed["last_error"].startswith("SMTPRecipientsRefused")
    assert "Mailbox unavailable" in failed["last_error"]
    assert not Event.objects.filter(type="invoice.sent").exists()

    # The mail server is back; the retry sends it.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    app.tasks[SEND_TASK](send_id=queued_send["id"])

    (sent,) = sends(api, invoice)
    assert (sent["status"], sent["attempts"], sent["last_error"]) == ("sent", 2, "")
    assert len(mail.outbox) == 1


def test_an_invoice_voided_before_the_job_ran_is_not_sent(api):
    invoice = finalized()
    send(api, invoice)
    invoices.invoice_void(invoice=invoice, actor=None, context=SYSTEM)

    run_queued_jobs()

    assert mail.outbox == []
    (skipped,) = sends(api, invoice)
    assert skipped["status"] == "skipped"
    assert skipped["last_error"] == "Not sent: the invoice is void."


def test_a_rolled_back_request_leaves_no_send_and_no_job():
    invoice = invoice_with_lines(status=InvoiceStatus.DRAFT)

    with pytest.raises(Exception, match="Cannot send"):
        sending.invoice_send(invoice=invoice, actor=None, context=SYSTEM)

    assert InvoiceSend.objects.count() == 0 and queued(SEND_TASK) == []


# --- the admin ---------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["billing_manager"]))
    return client


def test_the_admin_sends_and_shows_how_each_send_went(admin_client, settings):
    invoice = finalized()
    draft = invoice_with_lines(status=InvoiceStatus.DRAFT)

    response = admin_client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "send_to_customer", "_selected_action": [str(invoice.pk), str(draft.pk)]},
        follow=True,
    )

    shown = [str(message) for message in response.context["messages"]]
    assert any("Cannot send an invoice that is draft" in text for text in shown)
    assert any("Queued for sending" in text and ": 1." in text for text in shown)
    settings.EMAIL_BACKEND = "tests.mail.RefusingBackend"
    with pytest.raises(EmailNotSent):
        run_queued_jobs()

    page = admin_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    content = page.content.decode()
    assert "emails to the customer" in content.lower()
    assert "SMTPRecipientsRefused" in content and "<p>Failed</p>" in content
    listing = admin_client.get(reverse("admin:billing_invoicesend_changelist") + "?status=failed")
    assert listing.status_code == 200 and "ap@acme.example" in listing.content.decode()


def test_staff_who_may_not_send_get_no_send_action(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["staff"]))

    response = client.get(reverse("admin:billing_invoice_changelist"))

    assert response.status_code == 200
    assert "send_to_customer" not in response.content.decode()
