"""Enqueueing a job once, and what staff may do to background jobs: run a failed one again."""

from typing import Any

from django.db import transaction
from django.utils import timezone
from procrastinate import exceptions
from procrastinate.contrib.django.models import ProcrastinateJob

from core import audit
from core.context import ActionContext
from core.exceptions import Conflict, NotFound, PermissionDenied
from core.jobs import app
from core.models import AuditAction

RETRY_PERMISSION = "procrastinate.change_procrastinatejob"


@transaction.atomic(durable=True)
def job_retry(*, job_id: int, actor: Any, context: ActionContext) -> None:
    """Puts a failed job back in the queue to run now; its attempts keep counting."""
    if actor is not None and not actor.has_perm(RETRY_PERMISSION):
        raise PermissionDenied("You may not retry jobs.")
    job = ProcrastinateJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such job.")
    if job.status != "failed":
        raise Conflict(f"Only a failed job can be retried; this one is {job.status}.")
    app.job_manager.retry_job_by_id(job_id=job.pk, retry_at=timezone.now())
    audit.record(
        action=AuditAction.JOB_RETRIED,
        actor=actor,
        target=job,
        after={"task": job.task_name, "attempts": job.attempts},
        context=context,
    )


def defer_once(
    task_name: str, *, lock: str | None = None, queueing_lock: str | None = None, **kwargs: Any
) -> int | None:
    """Enqueues the task named ``task_name`` in the caller's transaction unless a job with the
    same queueing lock (``queueing_lock`` or the task's own) is already waiting; the job id,
    or None. The insert that finds one waiting fails, so it runs in a savepoint: the caller's
    transaction goes on. By name, so a service needs no import of the module its task is in."""
    options = {
        name: value
        for name, value in (("lock", lock), ("queueing_lock", queueing_lock))
        if value is not None
    }
    try:
        with transaction.atomic():
            return int(
                app.configure_task(task_name, allow_unknown=False, **options).defer(**kwargs)
            )
    except exceptions.AlreadyEnqueued:
        return None
