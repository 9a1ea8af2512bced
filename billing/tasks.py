"""Billing's jobs: emailing invoices and their reminders, and the daily past-due check
(``manage.py report_past_due``'s)."""

import logging

from core.jobs import DEFAULT_RETRY, app

from . import selectors
from .models import InvoiceSendStatus
from .services import sending

logger = logging.getLogger(__name__)


class EmailNotSent(Exception):
    """The send failed and is recorded as failed; raised so the job is retried."""


@app.task(name=sending.SEND_TASK, retry=DEFAULT_RETRY)
def send_invoice_email(*, send_id: str) -> None:
    """Sends one invoice email (billing.services.sending): a send already sent is not sent
    again, so running this twice sends once."""
    send = sending.invoice_send_deliver(send_id=send_id)
    if send is not None and send.status == InvoiceSendStatus.FAILED:
        raise EmailNotSent(send.last_error)


# Hourly: a step is a day, and an hour's delay of a reminder matters to nobody, while a
# worker down at the daily hour would have delayed them a day.
@app.periodic(cron="5 * * * *")
@app.task(
    name="billing.send_reminders", queueing_lock="billing.send_reminders", retry=DEFAULT_RETRY
)
def send_reminders(timestamp: int) -> None:
    """Queues the reminders due (BILLING_REMINDER_STEPS); each goes out as its own job."""
    sending.reminders_queue()


@app.periodic(cron="0 6 * * *")
@app.task(name="billing.detect_past_due", queueing_lock="billing.detect_past_due")
def detect_past_due(timestamp: int) -> None:
    """Says in the log, each morning, how many open invoices are past their due date and since
    when, so an operator's log alerting sees them; ``report_past_due`` lists them."""
    overdue = selectors.past_due(selectors.invoice_list()).order_by("due_date")
    count = overdue.count()
    if count:
        oldest = overdue.values_list("due_date", flat=True).first()
        logger.warning("%s invoices are past due, the oldest since %s.", count, oldest)
