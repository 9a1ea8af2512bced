"""Invoice emails per minute: one ``manage.py run_worker`` process sending queued invoice sends
(billing.send_invoice_email: claim the send's row, render the text and HTML templates, read
and check the invoice's PDF, sign the hosted link, hand the message to SMTP, record it sent,
audit and announce it) to a local SMTP sink (bench/smtp_sink.py). Beside it, with as many
threads as the worker's concurrency and the same message size:

- floor: smtplib sending one prebuilt message's bytes per connection (what any sender pays
  for SMTP itself, as Django's backend opens a connection per message);
- stock: Django's EmailMultiAlternatives built and sent per message (text, HTML, the PDF
  attached), no queue, no database.

The sink counts distinct Message-IDs, so an email sent twice shows.

Run: .venv/bin/python bench/bench_invoice_mail.py [--sends 2000] [--concurrency 4]

Needs PostgreSQL on 127.0.0.1:5432 (database atrium_bench_invoice_mail, created and migrated
here) and ports 8612 (the sink) free.
"""

import argparse
import os
import smtplib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import ROOT, bench_lock, manage

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/atrium_bench_invoice_mail"
SINK_PORT = 8612
DOCUMENTS = Path("/tmp/atrium-bench-invoice-mail-documents")
ENV = {
    "DATABASE_URL": DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "config.settings.bench",
    "EMAIL_URL": f"smtp://127.0.0.1:{SINK_PORT}",
    "BILLING_DOCUMENTS_ROOT": str(DOCUMENTS),
    "LOG_LEVEL": "WARNING",
}
INVOICES = 20  # the sends cycle over these (a PDF each, rendered once when finalized)
TIMEOUT_SECONDS = 900


def sink_stats() -> tuple[int, int]:
    with smtplib.SMTP("127.0.0.1", SINK_PORT) as client:
        _, answer = client.docmd("XSTATS")
    fields = dict(part.split("=") for part in answer.decode().split())
    return int(fields["messages"]), int(fields["distinct"])


def prepare(sends: int):
    """Finalized invoices (with their PDFs) and ``sends`` queued sends of them; the first
    invoice, for the contenders' message."""
    manage("ensure_database")
    manage("migrate", "--noinput", "--verbosity", "0")
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection
    from django.utils import timezone

    from billing.models import Customer
    from billing.services import invoices, sending
    from billing.services.invoices import LineInput
    from core.context import SYSTEM

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_workers")
        cursor.execute("DELETE FROM invoice_sends")
    customer, _ = Customer.objects.get_or_create(
        email="ap@bench.example", defaults={"name": "Bench Customer AB"}
    )
    finalized = []
    for number in range(INVOICES):
        draft = invoices.invoice_create(
            customer=customer,
            due_date=timezone.now() + timedelta(days=30),
            lines=[
                LineInput(
                    quantity=Decimal("3"), description=f"Seat licence {n}", unit_price=Decimal("9")
                )
                for n in range(1, 11)
            ],
            actor=None,
            context=SYSTEM,
        )
        finalized.append(invoices.invoice_finalize(invoice=draft, actor=None, context=SYSTEM))
        del number
    for number in range(sends):
        sending.invoice_send(invoice=finalized[number % INVOICES], actor=None, context=SYSTEM)
    return finalized[0]


def atrium_message(invoice):
    from billing import emails

    return emails.invoice_email(
        invoice, to="ap@bench.example", remaining=invoice.amount, reminder_step=None
    )


def run_threads(count: int, threads: int, send_one) -> float:
    """Seconds to call ``send_one`` ``count`` times over ``threads`` threads."""
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: send_one(), range(count)))
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4, help="the worker's jobs at once")
    options = parser.parse_args()
    os.environ.update(ENV)

    with bench_lock():
        invoice = prepare(options.sends)
        sink = subprocess.Popen([sys.executable, "bench/smtp_sink.py", str(SINK_PORT)], cwd=ROOT)
        time.sleep(0.5)
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
            load = os.getloadavg()[0]
            message = atrium_message(invoice)
            size = len(message.message().as_bytes())
            print(
                f"bench_invoice_mail {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, commit "
                f"{commit}, {os.cpu_count()} CPUs, load {load:.1f}: {options.sends:,} emails of "
                f"{size:,} bytes (text, HTML, a 10-line invoice's PDF), {options.concurrency} "
                "threads each"
            )
            raw = message.message().as_bytes()

            def floor_one() -> None:
                with smtplib.SMTP("127.0.0.1", SINK_PORT) as client:
                    client.sendmail("billing@bench.example", ["ap@bench.example"], raw)

            seconds = run_threads(options.sends, options.concurrency, floor_one)
            print(f"  floor (smtplib, prebuilt bytes):  {options.sends / seconds * 60:>9,.0f} /min")

            from django.core.mail import EmailMultiAlternatives

            from billing import selectors

            pdf = selectors.invoice_pdf(invoice)

            def stock_one() -> None:
                email = EmailMultiAlternatives(
                    message.subject, message.body, to=["ap@bench.example"]
                )
                email.attach_alternative(message.alternatives[0][0], "text/html")
                email.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
                email.send()

            seconds = run_threads(options.sends, options.concurrency, stock_one)
            print(f"  stock (Django EmailMessage.send): {options.sends / seconds * 60:>9,.0f} /min")

            before, before_distinct = sink_stats()
            from django.db import connection
            from django.db.models import Max, Min

            connection.close()
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "run_worker",
                    "--concurrency",
                    str(options.concurrency),
                ],
                cwd=ROOT,
            )
            try:
                from billing.models import InvoiceSend

                sent = InvoiceSend.objects.filter(status="sent")
                deadline = time.monotonic() + TIMEOUT_SECONDS
                # The worker's start-up (Django, procrastinate) is not sending: timed from the
                # first email out to the last, CPU likewise.
                while not sent.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                cpu_at_first = worker_cpu(worker.pid)
                while time.monotonic() < deadline:
                    left = InvoiceSend.objects.exclude(status="sent").count()
                    if not left:
                        break
                    time.sleep(0.2)
                cpu = worker_cpu(worker.pid) - cpu_at_first
                first, last = sent.aggregate(first=Min("sent_at"), last=Max("sent_at")).values()
                seconds = (last - first).total_seconds()
            finally:
                worker.terminate()
                worker.wait(timeout=60)
            emails = options.sends - 1  # the first one starts the clock
            print(
                f"  Atrium (one run_worker):          {emails / seconds * 60:>9,.0f} /min"
                f"  ({seconds:.1f} s from the first email to the last; worker CPU "
                f"{cpu / emails * 1000:.1f} ms per email)"
            )
            after, distinct = sink_stats()
            print(
                f"  the sink got {after - before:,} messages from the worker, "
                f"{distinct - before_distinct:,} distinct; {left} sends not sent"
            )
        finally:
            sink.terminate()
            sink.wait()


def worker_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
