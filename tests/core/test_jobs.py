"""The job queue: enqueued with the change, run by real workers, run again when a worker dies,
stopped gracefully, retried with a capped backoff, failed jobs retried by staff."""

import signal
from types import SimpleNamespace

import pytest
from django.db import transaction
from procrastinate import sql
from procrastinate.contrib.django.models import ProcrastinateJob

from core.context import SYSTEM
from core.exceptions import Conflict
from core.jobs import DEFAULT_RETRY, BackoffRetry, app
from core.models import AuditAction, AuditEvent
from core.services.jobs import job_retry
from tests.core.job_probes import probe
from tests.factories import UserFactory
from tests.jobs import empty_the_queue, start_worker, stop_worker, wait_until

# Short beats so a killed worker is noticed in about a second.
FAST_HEARTBEAT = {"JOBS_HEARTBEAT_SECONDS": "0.2", "JOBS_STALLED_AFTER_SECONDS": "1"}


@pytest.fixture(autouse=True)
def empty_queue(django_db_blocker):
    with django_db_blocker.unblock():
        empty_the_queue()
    yield
    with django_db_blocker.unblock():
        empty_the_queue()


def _status(job_id: int) -> str | None:
    return ProcrastinateJob.objects.filter(pk=job_id).values_list("status", flat=True).first()


def _started(directory) -> list[str]:
    path = directory / "started"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.django_db
def test_a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(tmp_path):
    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        probe.defer(directory=str(tmp_path))
        raise Refused
    assert not ProcrastinateJob.objects.filter(task_name="tests.probe").exists()

    with transaction.atomic():
        job_id = probe.defer(directory=str(tmp_path))
    assert _status(job_id) == "todo"


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_is_killed_runs_again_on_another_and_its_effect_happens_once(
    tmp_path,
):
    job_id = probe.defer(directory=str(tmp_path))
    first = start_worker("--concurrency", "1", **FAST_HEARTBEAT)
    try:
        wait_until(lambda: _started(tmp_path), what="the first worker to start the job")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert _status(job_id) == "doing"  # held by a worker that no longer exists
        (tmp_path / "release").touch()
        second = start_worker("--concurrency", "1", **FAST_HEARTBEAT)
        try:
            # Succeeded jobs leave no row.
            wait_until(lambda: _status(job_id) is None, what="the job to run again")
        finally:
            stop_worker(second)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(_started(tmp_path)) == 2
    assert [p.name for p in tmp_path.glob("done-*")] == [f"done-{job_id}"]


@pytest.mark.django_db(transaction=True)
def test_sigterm_lets_the_job_in_hand_finish_and_takes_no_new_one(tmp_path):
    job_id = probe.defer(directory=str(tmp_path))
    worker = start_worker("--concurrency", "1")
    wait_until(lambda: _started(tmp_path), what="the worker to start the job")
    waiting_id = probe.defer(directory=str(tmp_path / "never"))
    worker.send_signal(signal.SIGTERM)
    (tmp_path / "release").touch()
    # Waits, never signals again: a second SIGTERM means "stop now" to the worker, which a
    # busy machine could deliver before the job in hand finished.
    output = worker.communicate(timeout=60)[0].decode()
    assert worker.returncode == 0, output
    assert (tmp_path / f"done-{job_id}").exists()
    assert _status(job_id) is None
    assert _status(waiting_id) == "todo"


def test_backoff_doubles_from_the_first_wait_up_to_the_cap():
    retry = BackoffRetry(max_attempts=20, first_wait=5, max_wait=60)
    assert [retry.wait(attempts) for attempts in range(6)] == [5, 10, 20, 40, 60, 60]
    error = RuntimeError("SMTP is down")
    decision = retry.get_retry_decision(exception=error, job=SimpleNamespace(attempts=1))
    assert decision is not None and decision.retry_at is not None
    last = SimpleNamespace(attempts=DEFAULT_RETRY.max_attempts - 1)
    assert DEFAULT_RETRY.get_retry_decision(exception=error, job=last) is None


def _failed_job(tmp_path) -> int:
    """A job that ran and failed, through procrastinate's own fetch and finish."""
    job_id = probe.defer(directory=str(tmp_path))
    connector = app.connector.get_sync_connector()
    connector.execute_query_one(query=sql.queries["fetch_job"], queues=None, worker_id=None)
    connector.execute_query(
        query=sql.queries["finish_job"], job_id=job_id, status="failed", delete_job=False
    )
    return job_id


@pytest.mark.django_db
def test_staff_retry_a_failed_job_which_goes_back_to_the_queue(tmp_path, synced_roles):
    admin = UserFactory(is_staff=True, is_superuser=True)
    job_id = _failed_job(tmp_path)
    failed_attempts = ProcrastinateJob.objects.get(pk=job_id).attempts
    job_retry(job_id=job_id, actor=admin, context=SYSTEM)
    job = ProcrastinateJob.objects.get(pk=job_id)
    assert (job.status, job.attempts) == ("todo", failed_attempts + 1)
    assert AuditEvent.objects.filter(action=AuditAction.JOB_RETRIED, target_id=str(job_id)).exists()
    with pytest.raises(Conflict):
        job_retry(job_id=job_id, actor=admin, context=SYSTEM)


@pytest.mark.django_db
def test_the_admin_lists_failed_jobs_and_retries_them(client, tmp_path):
    admin = UserFactory(is_staff=True, is_superuser=True)
    job_id = _failed_job(tmp_path)
    client.force_login(admin)
    page = client.get("/admin/procrastinate/procrastinatejob/?status__exact=failed")
    assert page.status_code == 200
    assert b"tests.probe" in page.content
    answer = client.post(
        "/admin/procrastinate/procrastinatejob/",
        {"action": "retry", "_selected_action": [job_id]},
    )
    assert answer.status_code == 302
    assert _status(job_id) == "todo"
