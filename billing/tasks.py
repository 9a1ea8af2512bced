"""Billing's periodic jobs: the daily past-due check and the idempotency-key purge (the jobs
behind ``manage.py report_past_due`` and ``purge_idempotency_keys``)."""

import logging
from datetime import timedelta

from django.utils import timezone

from core.jobs import DEFAULT_RETRY, app

from . import selectors
from .services import idempotency

logger = logging.getLogger(__name__)

# The least a client may rely on a stored Idempotency-Key answer (README, billing).
IDEMPOTENCY_KEY_HOURS = 24


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


@app.periodic(cron="40 3 * * *")
@app.task(
    name="billing.purge_idempotency_keys",
    queueing_lock="billing.purge_idempotency_keys",
    retry=DEFAULT_RETRY,
)
def purge_idempotency_keys(timestamp: int) -> None:
    removed = idempotency.idempotency_keys_purge(
        older_than=timezone.now() - timedelta(hours=IDEMPOTENCY_KEY_HOURS)
    )
    logger.info("Removed %s idempotency keys.", removed)
