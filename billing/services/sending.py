"""Invoices by email: sent on request, and reminders of open invoices
(docs/billing-documents.md).

Every email is first a row of ``invoice_sends``, written in the same transaction as the job
that sends it (``billing.send_invoice_email``), so a request that rolls back sends nothing
and a committed one is never lost. The job delivers through ``invoice_send_deliver``, which
holds the row's lock while it hands the message to SMTP and records the outcome: a job run
twice, or two workers on one job, send once (the second finds the row sent). A worker that
dies mid-send rolls its transaction back, and the recovered job sends again: at least once,
as every Atrium email.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.types import JSONValue

from accounts.models import User
from billing import emails, reminders, sql
from billing.models import Invoice, InvoiceSend, InvoiceSendStatus, InvoiceStatus
from core import audit
from core.context import SYSTEM, ActionContext
from core.events import Audience, publish
from core.exceptions import DomainError, ValidationFailed
from core.jobs import app
from core.models import AuditAction
from core.services.idempotency import idempotent_write

from .invoices import ZERO, acting_user, lock, refusal, snapshot
from .payments import amount_due, invoice_balance

logger = logging.getLogger(__name__)

SENDS_AUDIENCE = Audience.permission("billing.view_invoicesend")

SEND_TASK = "billing.send_invoice_email"
# What may be sent: whatever the customer was issued and may still want to read or pay.
SENDABLE = (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE)
# Only what is still owed, and not yet written off, is reminded of.
REMINDABLE = (InvoiceStatus.OPEN,)
# What a failure keeps of its error: enough to read, not a whole SMTP transcript.
ERROR_LENGTH = 1000


def _defer(*send_ids: object) -> None:
    # By name: billing/tasks.py imports this module.
    jobs: list[dict[str, JSONValue]] = [{"send_id": str(send_id)} for send_id in send_ids]
    app.configure_task(SEND_TASK, allow_unknown=False).batch_defer(*jobs)


@idempotent_write
def invoice_send(
    *, invoice: Invoice, to: str | None = None, actor: User | None, context: ActionContext
) -> InvoiceSend:
    """Queues an email of the invoice, its PDF attached and a link to its hosted page, to
    ``to`` or else its customer's address. Drafts and void invoices are not sent (409)."""
    invoice = lock(invoice)
    if invoice.status not in SENDABLE:
        raise refusal(invoice, "send")
    address = (to or "").strip() or invoice.customer.email
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationFailed(fields={"to": ["Enter a valid email address."]}) from None
    send = InvoiceSend.objects.create(invoice=invoice, to=address, requested_by=acting_user(actor))
    _defer(send.pk)
    audit.record(
        action=AuditAction.INVOICE_SEND_REQUESTED,
        actor=actor,
        target=invoice,
        after={**snapshot(invoice), "send": str(send.pk), "to": address},
        context=context,
    )
    send.refresh_from_db(fields=["requested_at", "status", "attempts", "last_error"])
    return send


def _unsendable(send: InvoiceSend) -> str:
    """Why the send should no longer go out, or "" when it should."""
    status = send.invoice.status
    if send.reminder_step is not None and status not in REMINDABLE:
        return f"Not reminded: the invoice is {status}."
    if status not in SENDABLE:
        return f"Not sent: the invoice is {status}."
    return ""


@transaction.atomic(durable=True)
def invoice_send_deliver(*, send_id: str, context: ActionContext = SYSTEM) -> InvoiceSend | None:
    """Sends one queued (or failed) email, under the send's row lock, and records the outcome
    on it: sent, failed with the error (for the job to retry), or skipped when the invoice is
    no longer one to send (a reminder of an invoice paid since). None for a send that is gone;
    a send already sent or skipped is returned as it is."""
    send = (
        InvoiceSend.objects.select_for_update(of=("self",))
        .select_related("invoice__customer")
        .filter(pk=send_id)
        .first()
    )
    if send is None or send.status in (InvoiceSendStatus.SENT, InvoiceSendStatus.SKIPPED):
        return send
    invoice = send.invoice
    if reason := _unsendable(send):
        send.status, send.last_error = InvoiceSendStatus.SKIPPED, reason
        send.save(update_fields=["status", "last_error"])
        return send
    send.attempts += 1
    remaining = max(amount_due(invoice) - invoice_balance(invoice=invoice).paid, ZERO)
    try:
        message = emails.invoice_email(
            invoice, to=send.to, remaining=remaining, reminder_step=send.reminder_step
        )
        message.send()
    except (smtplib.SMTPException, OSError, DomainError) as error:
        detail = error.detail if isinstance(error, DomainError) else str(error)
        send.status = InvoiceSendStatus.FAILED
        send.last_error = f"{type(error).__name__}: {detail}"[:ERROR_LENGTH]
        send.save(update_fields=["status", "attempts", "last_error"])
        logger.warning("Sending %s of %s failed: %s", send.pk, invoice, send.last_error)
        return send
    sent_at = timezone.now()
    send.status, send.sent_at, send.last_error = InvoiceSendStatus.SENT, sent_at, ""
    send.save(update_fields=["status", "attempts", "last_error", "sent_at"])
    reminder = send.reminder_step is not None
    audit.record(
        action=AuditAction.INVOICE_REMINDER_SENT if reminder else AuditAction.INVOICE_SENT,
        actor=send.requested_by,
        target=invoice,
        after={"send": str(send.pk), "to": send.to, "reminder_step": send.reminder_step},
        context=context,
    )
    # The send as GET .../sends answers it, heard by whoever may read the sends.
    publish(
        type="invoice.reminder_sent" if reminder else "invoice.sent",
        target=send,
        audience=SENDS_AUDIENCE,
        actor=send.requested_by,
        context=context,
    )
    return send


@dataclass(frozen=True)
class RemindersQueued:
    queued: int
    exhausted: list[str]  # invoices given their last reminder now


@transaction.atomic(durable=True)
def reminders_queue(
    *, now: datetime | None = None, context: ActionContext = SYSTEM
) -> RemindersQueued:
    """Records (and enqueues the sending of) the reminder each open invoice is due by now
    under BILLING_REMINDER_STEPS, at most one per invoice and step; an invoice given the last
    step is flagged for staff (``dunning_exhausted_at``). Run by the periodic job."""
    steps = reminders.steps()
    if not steps:
        return RemindersQueued(queued=0, exhausted=[])
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.REMINDERS_QUEUE, {"steps": list(steps), "earliest": steps[0], "now": now}
        )
        rows = cursor.fetchall()
    if rows:
        _defer(*(send_id for send_id, _, _ in rows))
    exhausted = [invoice_id for _, invoice_id, step in rows if step == steps[-1]]
    for invoice in Invoice.objects.filter(pk__in=exhausted).order_by("pk"):
        before = snapshot(invoice)
        invoice.dunning_exhausted_at = now
        invoice.save(update_fields=["dunning_exhausted_at"])
        audit.record(
            action=AuditAction.INVOICE_DUNNING_EXHAUSTED,
            target=invoice,
            before=before,
            after={**snapshot(invoice), "dunning_exhausted_at": now.isoformat()},
            context=context,
        )
    if rows:
        logger.info("Queued %s reminders; %s invoices had their last.", len(rows), len(exhausted))
    return RemindersQueued(queued=len(rows), exhausted=[str(pk) for pk in exhausted])
