"""Outgoing webhooks at load: 10,000 events to 20 endpoints (200,000 signed deliveries) on
this machine, a local receiver answering 200, workers started by ``manage.py run_worker``.
Prints the time from the events' commit to the last delivery recorded, the deliveries per
second, and each delivery's latency (recorded as delivered minus the event's time).

Run: .venv/bin/python bench/bench_webhooks.py [--events 10000] [--endpoints 20]
     [--workers 2] [--concurrency 10]

Needs PostgreSQL on 127.0.0.1:5432 (database atrium_bench_webhooks, created and migrated
here). The receiver (bench/receiver_webhooks.py) is a bare asyncio server in its own process
that counts the distinct (endpoint, event id) pairs it got, so a delivery sent twice shows.
The events are written in one transaction, as a burst: the worst case for the fan-out.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import ROOT, bench_lock, manage

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/atrium_bench_webhooks"
RECEIVER_PORT = 8112
ENV = {
    "DATABASE_URL": DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "config.settings.bench",
    # The receiver runs on this machine over plain HTTP.
    "WEBHOOKS_ALLOW_LOOPBACK": "true",
    "WEBHOOKS_REQUIRE_HTTPS": "false",
    "LOG_LEVEL": "WARNING",
}
EVENT_TYPE = "message.created"
TIMEOUT_SECONDS = 600


def prepare(endpoints: int) -> None:
    manage("ensure_database")
    manage("migrate", "--noinput", "--verbosity", "0")
    import django

    django.setup()
    from django.db import connection

    from core.context import SYSTEM
    from webhooks import services

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE webhook_deliveries, webhook_endpoints")
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_workers")
        cursor.execute(
            "UPDATE webhook_cursor SET last_event_id = (SELECT COALESCE(max(id), 0) FROM events)"
        )
    for number in range(endpoints):
        services.endpoint_create(
            url=f"http://127.0.0.1:{RECEIVER_PORT}/endpoint-{number}",
            events=[EVENT_TYPE],
            description=f"bench {number}",
            actor=None,
            context=SYSTEM,
        )
    connection.close()


def write_events(count: int) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events (type, object_type, object_id, payload, audience_kind,"
            " audience_key, request_id)"
            " SELECT %s, 'chat.message', gen_random_uuid()::text, jsonb_build_object('n', n),"
            " 'conversation', 'bench', '' FROM generate_series(1, %s) AS n",
            [EVENT_TYPE, count],
        )


def scalar(sql: str, params: list | None = None) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def receiver_stats() -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{RECEIVER_PORT}/stats", timeout=5) as answer:
        return json.loads(answer.read())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="run_worker processes")
    parser.add_argument("--concurrency", type=int, default=10, help="jobs per worker")
    options = parser.parse_args()
    os.environ.update(ENV)
    expected = options.events * options.endpoints

    with bench_lock():
        prepare(options.endpoints)
        receiver = subprocess.Popen(
            [sys.executable, "bench/receiver_webhooks.py", str(RECEIVER_PORT)], cwd=ROOT
        )
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "run_worker",
                    "--concurrency",
                    str(options.concurrency),
                ],
                cwd=ROOT,
            )
            for _ in range(options.workers)
        ]
        try:
            while scalar("SELECT count(*) FROM procrastinate_workers") < options.workers:
                time.sleep(0.2)
            commit = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
            print(
                f"bench_webhooks {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, commit "
                f"{commit}, {os.cpu_count()} CPUs: {options.events:,} events x "
                f"{options.endpoints} endpoints = {expected:,} deliveries, {options.workers} "
                f"workers x concurrency {options.concurrency}"
            )
            started = time.monotonic()
            write_events(options.events)
            dispatched_after = None
            deadline = started + TIMEOUT_SECONDS
            while time.monotonic() < deadline:
                made = scalar("SELECT count(*) FROM webhook_deliveries")
                if dispatched_after is None and made >= expected:
                    dispatched_after = time.monotonic() - started
                delivered = scalar(
                    "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"
                )
                if delivered >= expected:
                    break
                time.sleep(0.25)
            elapsed = time.monotonic() - started
            delivered = scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
            latency = {
                share: scalar(
                    "SELECT extract(epoch FROM percentile_cont(%s) WITHIN GROUP (ORDER BY"
                    " d.delivered_at - e.occurred_at)) FROM webhook_deliveries d"
                    " JOIN events e ON e.id = d.event_id WHERE d.status = 'delivered'",
                    [share],
                )
                for share in (0.5, 0.99)
            }
            stats = receiver_stats()
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
            receiver.terminate()
            receiver.wait()
    print(f"  deliveries made (dispatched) after {dispatched_after or float('nan'):.1f} s")
    print(f"  delivered {delivered:,} of {expected:,} in {elapsed:.1f} s")
    print(f"  throughput {delivered / elapsed:,.0f} deliveries/s")
    print(
        f"  event to delivery p50 {latency[0.5]:.1f} s, p99 {latency[0.99]:.1f} s"
        if latency[0.5] is not None
        else "  no delivery"
    )
    print(
        f"  receiver: {stats['requests']:,} requests,"
        f" {stats['distinct']:,} distinct (endpoint, event)"
    )


if __name__ == "__main__":
    main()
