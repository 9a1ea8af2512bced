"""What billing announces (core.events): on commit only, to staff who may read it."""

from decimal import Decimal

import pytest

from billing.models import InvoiceStatus
from billing.services import invoices, payments
from core import events
from core.context import ActionContext
from core.exceptions import Conflict
from core.services import idempotency
from core.services.idempotency import Answer
from tests.billing.factories import invoice_with_lines
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db

CONTEXT = ActionContext(ip_address="192.0.2.7", request_id="req-1")
INVOICES = events.Audience.permission("billing.view_invoice")
PAYMENTS = events.Audience.permission("billing.view_payment")


@pytest.fixture
def heard():
    announcements: list[events.Announcement] = []
    events.receiver(announcements.append)
    yield announcements
    events.disconnect(announcements.append)


def test_finalizing_announces_the_numbered_invoice_once_committed(
    heard, django_capture_on_commit_callbacks
):
    staff, draft = StaffUserFactory(), invoice_with_lines(status=InvoiceStatus.DRAFT)

    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoices.invoice_finalize(invoice=draft, actor=staff, context=CONTEXT)

    (announcement,) = heard
    assert (announcement.type, announcement.audience) == ("invoice.finalized", INVOICES)
    assert announcement.object_id == str(invoice.pk)
    assert announcement.actor_id == str(staff.pk)
    assert announcement.context == CONTEXT
    assert announcement.payload["number"] == invoice.number
    assert announcement.payload["status"] == "open"


def test_a_refused_transition_announces_nothing(heard, django_capture_on_commit_callbacks):
    paid = invoice_with_lines(status=InvoiceStatus.PAID)

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Conflict):
        invoices.invoice_void(invoice=paid, actor=None, context=CONTEXT)

    assert callbacks == []
    assert heard == []


@pytest.mark.parametrize(
    ("service", "event"),
    [
        (invoices.invoice_void, "invoice.voided"),
        (invoices.invoice_mark_uncollectible, "invoice.marked_uncollectible"),
    ],
)
def test_closing_an_invoice_is_announced(heard, django_capture_on_commit_callbacks, service, event):
    with django_capture_on_commit_callbacks(execute=True):
        service(invoice=invoice_with_lines(status=InvoiceStatus.OPEN), actor=None, context=CONTEXT)

    assert [(a.type, a.audience) for a in heard] == [(event, INVOICES)]


def test_a_covering_payment_announces_the_paid_invoice_and_a_refund_its_reopening(
    heard, django_capture_on_commit_callbacks
):
    invoice = invoice_with_lines(amount=Decimal("40.00"), status=InvoiceStatus.OPEN)

    with django_capture_on_commit_callbacks(execute=True):
        payment = payments.payment_record(
            invoice=invoice, amount=Decimal("40.00"), provider="card", actor=None, context=CONTEXT
        )
    with django_capture_on_commit_callbacks(execute=True):
        payments.payment_refund(
            payment=payment, amount=Decimal("5.00"), actor=None, context=CONTEXT
        )

    assert [(a.type, a.audience) for a in heard] == [
        ("payment.recorded", PAYMENTS),
        ("invoice.paid", INVOICES),
        ("payment.refunded", PAYMENTS),
        ("invoice.reopened", INVOICES),
    ]
    # Each the object as the API answers it (tests/events/test_payloads.py holds them equal).
    assert heard[0].payload["id"] == str(payment.pk)
    assert heard[0].payload["invoice"] == str(invoice.pk)
    assert (heard[0].payload["amount"], heard[0].payload["status"]) == ("40.00", "succeeded")
    assert heard[1].payload["status"] == "paid"
    assert heard[2].payload["refunded_amount"] == "5.00"
    assert heard[3].payload["status"] == "open"


def test_a_payment_rolled_back_with_its_idempotent_request_is_never_announced(
    heard, django_capture_on_commit_callbacks
):
    invoice = invoice_with_lines(status=InvoiceStatus.OPEN)
    staff = StaffUserFactory()

    def write() -> Answer:
        payments.payment_record(
            invoice=invoice, amount=Decimal("1.00"), provider="card", actor=staff, context=CONTEXT
        )
        raise Conflict("the answer could not be shaped")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Conflict):
        idempotency.run_once(user=staff, key="k", fingerprint="f", action=write)

    assert callbacks == []
    assert heard == []
