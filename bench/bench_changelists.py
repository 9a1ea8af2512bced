"""How long the staff console's lists of the large tables take to open, unfiltered and with
each filter, on a database of millions of rows.

Loads (once, into its own database: ``atrium_bench_ops`` unless ``--database`` names another)
MESSAGES messages with the chat loader, DOCUMENTS documents averaging 20 versions, INVOICES
invoices (about two payments each), SESSIONS API sessions, and AUDIT audit events and as many
events, then opens every changelist of a large table as a superuser through Django's test
client, in process (the whole view: filters, the capped count, the page query, the template).
Each URL is opened once to warm up, then ``--opens`` times; the median, the 99th percentile
(interpolated between the slowest opens: with fewer than a hundred it is close to the slowest)
and the slowest are printed, with the median CPU time of this process (the admin's Python work,
which waiting for a core on a shared machine does not inflate) and the median time spent in SQL
queries (round trips to PostgreSQL). No server, no network: what is measured is the admin's
work and PostgreSQL's.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bench_lock, manage, warn_if_busy

SERVER = "postgres://postgres@127.0.0.1:5432/"


def prepare(args: argparse.Namespace) -> None:
    """Migrates, and loads each part of the data set the database does not hold yet (so an
    interrupted load resumes)."""
    manage("ensure_database")
    manage("migrate", "--noinput", "--verbosity", "0")
    manage("sync_permissions", "--verbosity", "0")
    from accounts.models import ApiSession
    from accounts.scale import sessions_scale_load
    from billing.models import Invoice
    from chat.models import Message
    from core.models import AuditEvent
    from core.scale import audit_scale_load
    from documents.models import Document

    started = time.monotonic()

    def loaded(part: str, since: float) -> None:
        one, five, _ = os.getloadavg()
        print(
            f"{part} loaded in {time.monotonic() - since:.0f}s (load average {one:.2f}, {five:.2f})"
        )

    if not Message.all_objects.exists():
        since = time.monotonic()
        manage(
            "seed_chat_scale",
            "--users",
            "10000",
            "--conversations",
            "100000",
            "--messages",
            str(args.messages),
        )
        loaded("chat", since)
    if not Document.all_objects.exists():
        since = time.monotonic()
        manage("seed_documents_scale", "--documents", str(args.documents), "--versions", "20")
        loaded("documents", since)
    if not Invoice.objects.exists():
        since = time.monotonic()
        manage("seed_billing_scale", "--invoices", str(args.invoices))
        loaded("billing", since)
    if ApiSession.objects.count() < args.sessions:
        since = time.monotonic()
        sessions_scale_load(sessions=args.sessions, progress=print)
        loaded("sessions", since)
    if not AuditEvent.objects.exists():
        since = time.monotonic()
        audit_scale_load(audit_events=args.audit, events=args.audit, progress=print)
        loaded("audit events and events", since)
    print(f"Data set ready in {time.monotonic() - started:.0f}s")


def table_sizes() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s)"
            " ORDER BY relname",
            [
                [
                    "messages",
                    "document_versions",
                    "invoices",
                    "payments",
                    "sessions",
                    "audit_events",
                    "events",
                ]
            ],
        )
        return dict(cursor.fetchall())


def changelist_urls(superuser) -> list[tuple[str, str]]:
    """(label, URL) of every large table's changelist, unfiltered and with each filter
    choice."""
    from django.contrib import admin
    from django.test import RequestFactory
    from django.urls import reverse

    from core.admin import LargeTableAdminMixin

    urls = []
    for model, model_admin in sorted(
        admin.site._registry.items(), key=lambda item: item[0]._meta.label
    ):
        if not isinstance(model_admin, LargeTableAdminMixin):
            continue
        base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        request = RequestFactory().get(base)
        request.user = superuser
        changelist = model_admin.get_changelist_instance(request)
        seen = [""]
        for spec in changelist.filter_specs:
            for choice in spec.choices(changelist):
                query = choice["query_string"].lstrip("?")
                if dict(parse_qsl(query)) and query not in seen:
                    seen.append(query)
        urls += [
            (f"{model._meta.label} {query or '(default)'}", f"{base}?{query}" if query else base)
            for query in seen
        ]
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5_000_000, help="messages to load")
    parser.add_argument(
        "--documents",
        type=int,
        default=100_000,
        help="documents to load (20 versions each on average)",
    )
    parser.add_argument("--invoices", type=int, default=1_000_000, help="invoices to load")
    parser.add_argument("--sessions", type=int, default=1_000_000, help="sessions to load")
    parser.add_argument(
        "--audit", type=int, default=1_000_000, help="audit events to load, and as many events"
    )
    parser.add_argument("--opens", type=int, default=20, help="timed opens of each list")
    parser.add_argument(
        "--database", default="atrium_bench_ops", help="the bench's own database, on 127.0.0.1"
    )
    args = parser.parse_args()

    # Every child inherits these: the bench never touches another database.
    os.environ["DATABASE_URL"] = SERVER + args.database
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    os.environ["DEBUG"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    # Debug off, as served; static files by name (no collectstatic manifest needed).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    from django.db import connection

    from accounts.models import User

    with bench_lock():
        prepare(args)
        print("rows (estimates):", ", ".join(f"{t} {n:,}" for t, n in table_sizes().items()))
        superuser, _ = User.objects.get_or_create(
            email="bench-console@scale.invalid",
            defaults={"is_staff": True, "is_superuser": True, "verified": True},
        )
        client = Client()
        client.force_login(superuser)
        warn_if_busy()
        print(
            f"{'changelist':<58} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
            f" {'cpu p50':>8} {'sql p50':>8}"
        )
        sql_seconds = [0.0]

        def timed_query(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                sql_seconds[0] += time.perf_counter() - started

        with connection.execute_wrapper(timed_query):
            for label, url in changelist_urls(superuser):
                assert client.get(url).status_code == 200, url
                times, cpu, sql = [], [], []
                for _ in range(args.opens):
                    sql_seconds[0] = 0.0
                    started, cpu_started = time.perf_counter(), time.process_time()
                    response = client.get(url)
                    times.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - cpu_started) * 1000)
                    sql.append(sql_seconds[0] * 1000)
                    assert response.status_code == 200, url
                p99 = statistics.quantiles(times, n=100, method="inclusive")[98]
                print(
                    f"{label:<58} {statistics.median(times):>8.1f} {p99:>8.1f}"
                    f" {max(times):>8.1f} {statistics.median(cpu):>8.1f}"
                    f" {statistics.median(sql):>8.1f}"
                )
        warn_if_busy()


if __name__ == "__main__":
    main()
