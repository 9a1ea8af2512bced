"""Factories of the billing models added after the foundation, and invoices whose lines add
up (what a committed transaction needs: the database checks the sum at commit)."""

from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from billing.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteNumberSequence,
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    InvoiceSend,
    InvoiceStatus,
    Refund,
    WebhookEvent,
)
from billing.services.invoices import to_cents
from tests.factories import InvoiceFactory, PaymentFactory


class InvoiceLineFactory(DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    # The draft InvoiceFactory's amount is 100.00: one line of 100.00 matches it.
    invoice = factory.SubFactory(InvoiceFactory)
    position = factory.Sequence(lambda n: n + 1)
    description = factory.Sequence(lambda n: f"Seat licence {n}")
    quantity = Decimal("1")
    unit_price = Decimal("100.00")
    total = factory.LazyAttribute(lambda line: to_cents(line.quantity * line.unit_price))


class InvoiceNumberSequenceFactory(DjangoModelFactory):
    class Meta:
        model = InvoiceNumberSequence
        django_get_or_create = ("year",)

    year = 1999
    last_number = 0


class RefundFactory(DjangoModelFactory):
    class Meta:
        model = Refund

    payment = factory.SubFactory(PaymentFactory)
    amount = Decimal("5.00")
    reason = "Goodwill"


class CreditNoteFactory(DjangoModelFactory):
    """A credit note row as the database takes it; issuing one for real (number, PDF, the
    invoice's credited total) is billing.services.credit_notes.credit_note_issue."""

    class Meta:
        model = CreditNote

    invoice = factory.SubFactory(InvoiceFactory, status=InvoiceStatus.OPEN)
    number = factory.Sequence(lambda n: f"CN-1999-{n:06d}")
    amount = Decimal("10.00")
    reason = "Goodwill"
    issued_at = factory.LazyFunction(timezone.now)
    pdf_sha256 = "0" * 64


class CreditNoteLineFactory(DjangoModelFactory):
    class Meta:
        model = CreditNoteLine

    credit_note = factory.SubFactory(CreditNoteFactory)
    position = factory.Sequence(lambda n: n + 1)
    description = "Goodwill"
    amount = Decimal("10.00")


class CreditNoteNumberSequenceFactory(DjangoModelFactory):
    class Meta:
        model = CreditNoteNumberSequence
        django_get_or_create = ("year",)

    year = 1999
    last_number = 0


class WebhookEventFactory(DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    provider = "card"
    event_id = factory.Sequence(lambda n: f"evt_{n}")
    event_type = "payment.succeeded"
    payload = factory.LazyAttribute(lambda event: {"id": event.event_id})


def invoice_with_lines(
    *, amount: Decimal = Decimal("100.00"), status: InvoiceStatus = InvoiceStatus.OPEN, **kwargs
) -> Invoice:
    """An invoice of ``amount`` in ``status`` with one line of that amount, written the way
    the database accepts it: lines while a draft, then the status."""
    invoice = InvoiceFactory(amount=amount, status=InvoiceStatus.DRAFT, **kwargs)
    InvoiceLineFactory(invoice=invoice, quantity=Decimal("1"), unit_price=amount, position=1)
    if status != InvoiceStatus.DRAFT:
        invoice.status = status
        invoice.number = f"INV-1999-{str(invoice.pk)[:6]}"
        invoice.save(update_fields=["status", "number"])
    return invoice


class InvoiceSendFactory(DjangoModelFactory):
    """A queued email of an invoice; sending it is the job's (billing.services.sending)."""

    class Meta:
        model = InvoiceSend

    invoice = factory.SubFactory(InvoiceFactory, status=InvoiceStatus.OPEN)
    to = "ap@customer.example"
