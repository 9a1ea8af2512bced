"""The emails billing sends customers (docs/billing-documents.md): an invoice, or a reminder
of one, in plain text and HTML, with the PDF it was finalized with attached and a signed link
to its hosted page. Made when the job sends it, so the link is fresh and its expiry starts
then."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from . import selectors
from .models import Invoice


@dataclass(frozen=True)
class Letter:
    """What the templates are given."""

    invoice: Invoice
    company: str
    remaining: Decimal  # what the customer still owes
    link: str  # the hosted page
    link_expires_at: datetime
    payment_instructions: str
    reminder_step: int | None  # days from the due date, for a reminder
    due_on: datetime  # the due date, in the site's time zone


def _subject(letter: Letter) -> str:
    number, step = letter.invoice.number, letter.reminder_step
    if step is None:
        return f"Invoice {number} from {letter.company}"
    if step < 0:
        return f"Reminder: invoice {number} is due on {letter.due_on:%d %B %Y}"
    if step == 0:
        return f"Invoice {number} is due today"
    return f"Overdue: invoice {number} was due on {letter.due_on:%d %B %Y}"


def invoice_email(
    invoice: Invoice, *, to: str, remaining: Decimal, reminder_step: int | None
) -> EmailMultiAlternatives:
    """The message, ready to send; reading the PDF may raise the selectors' refusals."""
    link = selectors.invoice_hosted_link(invoice)
    letter = Letter(
        invoice=invoice,
        company=settings.BILLING_COMPANY_NAME,
        remaining=remaining,
        link=link.url,
        link_expires_at=link.expires_at,
        payment_instructions=settings.BILLING_PAYMENT_INSTRUCTIONS,
        reminder_step=reminder_step,
        due_on=timezone.localtime(invoice.due_date),
    )
    template = "invoice" if reminder_step is None else "reminder"
    context = {"letter": letter, "days": abs(reminder_step or 0)}
    message = EmailMultiAlternatives(
        subject=_subject(letter),
        body=render_to_string(f"billing/email/{template}.txt", context),
        to=[to],
    )
    message.attach_alternative(
        render_to_string(f"billing/email/{template}.html", context), "text/html"
    )
    if invoice.pdf_sha256 is not None:  # invoices finalized before PDFs existed have none
        message.attach(f"{invoice.number}.pdf", selectors.invoice_pdf(invoice), "application/pdf")
    return message
