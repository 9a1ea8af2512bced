"""A task only the job tests enqueue (config/settings/test.py imports it into the worker):
it says it started, waits until the test releases it, and leaves its effect once per job."""

import contextlib
import os
import time
from pathlib import Path

from procrastinate.job_context import JobContext

from core.jobs import app


@app.task(name="tests.probe", pass_context=True)
def probe(context: JobContext, directory: str) -> None:
    here = Path(directory)
    job_id = context.job.id
    with (here / "started").open("a") as log:
        log.write(f"{job_id} {os.getpid()}\n")
    deadline = time.monotonic() + 60
    while not (here / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    # The effect, keyed by the job: a second run of the same job finds it done.
    with contextlib.suppress(FileExistsError):
        (here / f"done-{job_id}").open("x").close()
