"""Running background jobs in tests: real worker subprocesses (``manage.py run_worker``)
against the test database, and the queue's jobs run in the test's own transaction."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection
from procrastinate import sql
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.jobs import Job

from core.jobs import app

ROOT = Path(__file__).resolve().parent.parent


def wait_until(condition: Callable[[], Any], *, seconds: float = 30, what: str = "") -> Any:
    """Polls ``condition`` until it is truthy; fails the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what or condition}")


def start_worker(*args: str, **settings: str) -> subprocess.Popen[bytes]:
    """``manage.py run_worker`` on the test database; ``settings`` are environment variables
    (the job settings read them)."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        **settings,
    }
    return subprocess.Popen(  # noqa: S603 (our own command)
        [sys.executable, "manage.py", "run_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop_worker(worker: subprocess.Popen[bytes]) -> str:
    """SIGTERM, then the worker's output once it has exited."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=60)
    return output.decode()


def run_queued_jobs() -> int:
    """Runs the jobs due now, in this process and transaction, through procrastinate's own
    fetch and finish; jobs they enqueue run too. Returns how many ran."""
    connector = app.connector.get_sync_connector()
    ran = 0
    while True:
        row = connector.execute_query_one(
            query=sql.queries["fetch_job"], queues=None, worker_id=None
        )
        if row["id"] is None:
            return ran
        # Django's connection hands jsonb over as text (its JSONField decodes it).
        job = Job.from_row({**row, "args": json.loads(row["args"])})
        app.tasks[job.task_name](**job.task_kwargs)
        connector.execute_query(
            query=sql.queries["finish_job"], job_id=job.id, status="succeeded", delete_job=True
        )
        ran += 1


def queued(task_name: str) -> list[ProcrastinateJob]:
    return list(ProcrastinateJob.objects.filter(task_name=task_name, status="todo"))


def empty_the_queue() -> None:
    """Removes every job and worker row. Procrastinate's tables are not Django's to flush, so
    a test that commits (transaction=True) leaves its jobs for the next worker unless it
    calls this."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_workers")
