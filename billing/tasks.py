"""Billing's periodic job: the daily past-due check (``manage.py report_past_due``'s)."""

import logging

from core.jobs import app

from . import selectors

logger = logging.getLogger(__name__)


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
