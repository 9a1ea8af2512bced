"""``manage.py run_worker``: runs background jobs until stopped (docs/jobs.md)."""

import asyncio
import logging

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from procrastinate.contrib.django.utils import connector_params
from procrastinate.psycopg_connector import PsycopgConnector

from core import events, jobs
from core.postgres import DIRECT_DB_ALIAS

logger = logging.getLogger(__name__)

# Wake-ups closer together than this are one: the dispatcher reads everything committed by
# the time it runs.
COALESCE_SECONDS = 0.05


class Command(BaseCommand):
    help = (
        "Runs background jobs (emails, webhooks, periodic purges) until SIGTERM or Ctrl-C, "
        "which stop taking new jobs and wait up to JOBS_SHUTDOWN_SECONDS for those in hand, "
        "then give the rest back to the queue. Run as many as needed, on any machine."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.JOBS_CONCURRENCY,
            help=f"jobs run at once (default JOBS_CONCURRENCY, {settings.JOBS_CONCURRENCY})",
        )
        parser.add_argument(
            "--queue", action="append", dest="queues", help="only this queue (repeatable)"
        )

    def handle(self, *args, concurrency: int, queues: list[str] | None, **options):
        if concurrency < 1:
            raise CommandError("--concurrency is at least 1.")
        # A worker that died left its jobs in hand; they run again before anything new.
        recovered = jobs.recover_stalled_jobs()
        if recovered:
            self.stdout.write(f"re-queued {len(recovered)} jobs of a worker that died")
        connection.close()
        # Django's connector runs the services' enqueues in their transactions; the worker
        # itself needs psycopg's async connector, with LISTEN, which a pooler in transaction
        # mode drops without a word: it goes straight to PostgreSQL (the direct alias).
        worker_app = jobs.app.with_connector(
            PsycopgConnector(kwargs=connector_params(DIRECT_DB_ALIAS))
        )
        asyncio.run(self._run(worker_app, concurrency=concurrency, queues=queues))

    async def _run(self, worker_app, *, concurrency: int, queues: list[str] | None) -> None:
        async with worker_app.open_async():
            wakers = jobs.event_wakers()
            listener = asyncio.create_task(self._wake_on_events(worker_app, wakers))
            try:
                await worker_app.run_worker_async(
                    concurrency=concurrency,
                    queues=queues,
                    # Succeeded jobs leave no row; failed ones stay for the admin.
                    delete_jobs="successful",
                    update_heartbeat_interval=settings.JOBS_HEARTBEAT_SECONDS,
                    stalled_worker_timeout=settings.JOBS_STALLED_AFTER_SECONDS,
                    shutdown_graceful_timeout=settings.JOBS_SHUTDOWN_SECONDS,
                    install_signal_handlers=True,
                )
            finally:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def _wake_on_events(self, worker_app, wakers: list) -> None:
        """LISTENs on the events channel and enqueues each waker task when events were
        committed. A burst of events (one NOTIFY each) is one wake-up: notifications only
        set a flag, and the tasks are enqueued at most every COALESCE_SECONDS. The webhook
        dispatcher reads the events table from its cursor, so a lost notification costs only
        latency (its periodic sweep catches up)."""
        if not wakers:
            return
        tasks = [worker_app.tasks[waker.name] for waker in wakers]
        woken = asyncio.Event()
        enqueuer = asyncio.create_task(self._enqueue_when_woken(tasks, woken))
        try:
            while True:
                try:
                    async with await psycopg.AsyncConnection.connect(
                        **connector_params(DIRECT_DB_ALIAS), autocommit=True
                    ) as listen:
                        await listen.execute(f"LISTEN {events.CHANNEL}")
                        woken.set()  # whatever was committed while nobody listened
                        async for _ in listen.notifies():
                            woken.set()
                except psycopg.OperationalError:
                    logger.warning(
                        "Lost the events LISTEN connection; reconnecting.", exc_info=True
                    )
                    woken.set()
                    await asyncio.sleep(1)
        finally:
            enqueuer.cancel()
            await asyncio.gather(enqueuer, return_exceptions=True)

    async def _enqueue_when_woken(self, tasks: list, woken: asyncio.Event) -> None:
        while True:
            await woken.wait()
            woken.clear()
            for task in tasks:
                await jobs.defer_once_async(task)
            await asyncio.sleep(COALESCE_SECONDS)
