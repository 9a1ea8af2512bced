"""Core's periodic jobs: the retention purges and the recovery of jobs whose worker died."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from procrastinate.job_context import JobContext

from core import events, jobs
from core.context import SYSTEM
from core.jobs import app
from core.services import idempotency, partitions, retention

logger = logging.getLogger(__name__)

PURGE_BATCH_SIZE = 5000


# Every 15 seconds: a dead worker's job waits at most this long past JOBS_STALLED_AFTER_SECONDS.
@app.periodic(cron="* * * * * */15")
@app.task(name="core.recover_stalled_jobs", queueing_lock="core.recover_stalled_jobs")
def recover_stalled_jobs(timestamp: int) -> None:
    jobs.recover_stalled_jobs()


@app.periodic(cron="10 3 * * *")
@app.task(name="core.purge_events", queueing_lock="core.purge_events", retry=jobs.DEFAULT_RETRY)
def purge_events(timestamp: int) -> None:
    """``manage.py purge_events`` with EVENTS_RETENTION_DAYS, daily."""
    before = timezone.now() - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    total = 0
    while removed := events.purge_older(before=before, batch_size=PURGE_BATCH_SIZE):
        total += removed
    logger.info("Purged %s events older than %s days.", total, settings.EVENTS_RETENTION_DAYS)


@app.periodic(cron="20 3 * * *")
@app.task(name="core.purge_deleted", queueing_lock="core.purge_deleted", retry=jobs.DEFAULT_RETRY)
def purge_deleted(timestamp: int) -> None:
    """``manage.py purge_deleted`` with each model's retention, daily."""
    retention.purge_deleted(
        actor=None,
        context=SYSTEM,
        older_than=None,
        dry_run=False,
        batch_size=retention.DEFAULT_BATCH_SIZE,
    )


@app.periodic(cron="50 2 * * *")
@app.task(
    name="core.ensure_partitions", queueing_lock="core.ensure_partitions", retry=jobs.DEFAULT_RETRY
)
def ensure_partitions(timestamp: int) -> None:
    """``manage.py ensure_partitions``, daily: the coming months' partitions of the logs exist
    long before their first row, whether or not anyone runs ``migrate`` that month."""
    report = partitions.partitions_ensure(months_ahead=partitions.MONTHS_AHEAD)
    if report.blocked:
        logger.error(
            "Rows of %s sit in the logs' DEFAULT partition; see docs/operations.md.",
            ", ".join(report.blocked),
        )


@app.periodic(cron="40 3 * * *")
@app.task(
    name="core.purge_idempotency_keys",
    queueing_lock="core.purge_idempotency_keys",
    retry=jobs.DEFAULT_RETRY,
)
def purge_idempotency_keys(timestamp: int) -> None:
    """``manage.py purge_idempotency_keys`` with its default window, daily."""
    removed = idempotency.idempotency_keys_purge(
        older_than=timezone.now() - timedelta(hours=idempotency.KEPT_HOURS)
    )
    logger.info("Removed %s idempotency keys.", removed)


# Finished jobs are deleted by the worker as they succeed; failed ones stay for the admin to
# see and retry, for 30 days.
@app.periodic(cron="30 3 * * *")
@app.task(name="core.purge_old_jobs", queueing_lock="core.purge_old_jobs", pass_context=True)
async def purge_old_jobs(context: JobContext, timestamp: int) -> None:
    await context.app.job_manager.delete_old_jobs(
        nb_hours=30 * 24, include_failed=True, include_cancelled=True, include_aborted=True
    )
