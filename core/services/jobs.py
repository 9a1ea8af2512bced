"""What staff may do to background jobs: run a failed one again."""

from typing import Any

from django.db import transaction
from django.utils import timezone
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
