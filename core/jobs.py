"""Background jobs: procrastinate on Atrium's own PostgreSQL (docs/jobs.md).

A service enqueues a job with ``some_task.defer(...)`` inside its transaction: procrastinate's
Django connector writes the job row on the service's own connection, so the job exists exactly
when the change committed (a rollback leaves none) and a worker (``manage.py run_worker``)
takes it after commit. Tasks live in each app's ``tasks.py`` (found by procrastinate's
autodiscovery) and are written to be run twice safely: a worker that dies mid-job has its job
run again by another (``recover_stalled_jobs``), so their effects are keyed by job or event id.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone
from procrastinate import BaseRetryStrategy, RetryDecision, exceptions, sql
from procrastinate.contrib.django import app
from procrastinate.jobs import Job

__all__ = [
    "DEFAULT_RETRY",
    "BackoffRetry",
    "app",
    "defer_once_async",
    "recover_stalled_jobs",
    "wake_on_events",
]

logger = logging.getLogger(__name__)


class BackoffRetry(BaseRetryStrategy):
    """Exponential backoff with a cap: the n-th retry waits ``first_wait * 2**(n-1)`` seconds,
    at most ``max_wait``, with up to 10% jitter so jobs that failed together do not all come
    back in the same second. After ``max_attempts`` runs the job stays ``failed`` (visible and
    retryable in the admin)."""

    def __init__(self, *, max_attempts: int, first_wait: float, max_wait: float) -> None:
        self.max_attempts = max_attempts
        self.first_wait = first_wait
        self.max_wait = max_wait

    def wait(self, attempts: int) -> float:
        """Seconds before the next run of a job that has failed ``attempts`` + 1 times."""
        return min(self.max_wait, self.first_wait * 2**attempts)

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts + 1 >= self.max_attempts:
            return None
        wait = self.wait(job.attempts)
        jitter = random.uniform(0, wait / 10)  # noqa: S311 (spreading load, not a secret)
        return RetryDecision(retry_in={"seconds": round(wait + jitter)})


# Ten runs over about an hour and a half (5 s, 10 s, 20 s ... capped at 30 min): long enough to
# ride out an SMTP server's restart, short enough that a broken job shows in the admin the
# same day.
DEFAULT_RETRY = BackoffRetry(max_attempts=10, first_wait=5, max_wait=30 * 60)


def recover_stalled_jobs() -> list[int]:
    """Runs again the jobs whose worker died: workers silent for longer than
    ``JOBS_STALLED_AFTER_SECONDS`` are forgotten, and the jobs they held go back to the queue
    (a retry, counted in ``attempts``). Returns their ids."""
    connector = app.connector.get_sync_connector()
    stalled_after = settings.JOBS_STALLED_AFTER_SECONDS
    connector.execute_query_all(
        query=sql.queries["prune_stalled_workers"], seconds_since_heartbeat=stalled_after
    )
    rows = connector.execute_query_all(
        query=sql.queries["select_stalled_jobs_by_heartbeat"],
        queue=None,
        task_name=None,
        seconds_since_heartbeat=stalled_after,
    )
    recovered = []
    for row in rows:
        app.job_manager.retry_job_by_id(job_id=row["id"], retry_at=timezone.now())
        recovered.append(row["id"])
        logger.warning("Job %s (%s) lost its worker; it runs again.", row["id"], row["task_name"])
    return recovered


# Tasks to enqueue when events are committed (core.events.CHANNEL wakes ``run_worker``):
# the webhook dispatcher registers here, so core needs to know no app and a write pays
# nothing extra for it.
_event_wakers: list[Callable[[], Any]] = []


def wake_on_events(task: Any) -> None:
    """Makes ``run_worker`` enqueue ``task`` (once, however many events arrive together) each
    time events are committed. ``task`` takes no arguments and has a ``queueing_lock``."""
    if task not in _event_wakers:
        _event_wakers.append(task)


def event_wakers() -> list[Any]:
    return list(_event_wakers)


async def defer_once_async(task: Any, **kwargs: Any) -> int | None:
    """Enqueues ``task`` unless a run of it is already waiting (its queueing lock); the job
    id, or None when one was already waiting. Outside any transaction (the worker's)."""
    try:
        return int(await task.defer_async(**kwargs))
    except exceptions.AlreadyEnqueued:
        return None
