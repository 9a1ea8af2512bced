"""What the billing hot paths cost at scale: listing past-due invoices, recording a payment and
the monthly revenue report, under gunicorn, beside the floor (bench/floor_billing.py: a bare
WSGI function sending the same SQL with psycopg), with 1 million invoices and about 2 million
payments in the tables.

Run: .venv/bin/python bench/bench_billing.py [--rounds 2] [--duration 8]

Needs PostgreSQL on 127.0.0.1:5432 (database atrium_bench_billing, created, migrated and loaded
here on first use: about two minutes), Redis on 127.0.0.1:6379 (the throttles' cache) and wrk.
Method: docs/performance.md. Contenders run in alternation within each round; each
payment request carries a fresh Idempotency-Key and pays 0.01 on one of 2,000 open invoices
that have plenty left to pay.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (
    Contender,
    LoadResult,
    announce,
    bench_lock,
    gunicorn,
    manage,
    print_round,
    print_summary,
    wait_for_answer,
    wrk,
)

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/atrium_bench_billing"
REDIS_URL = "redis://127.0.0.1:6379/13"
SETTINGS_MODULE = "config.settings.bench"
ATRIUM = "http://127.0.0.1:8110"
FLOOR = "http://127.0.0.1:8111"
PAST_DUE = "/api/v1/billing/invoices?past_due=true"
REVENUE = "/api/v1/billing/reports/revenue"
PAYMENTS = "/api/v1/billing/payments"
INVOICES = 1_000_000
PAYABLE_INVOICES = 2_000
BENCH_EMAIL = "billing-bench@bench.invalid"
WARM_UP_SECONDS = 2
DRAIN_SECONDS = 4

# wrk: every request a POST of 0.01 to a random payable invoice with its own key. wrk.format
# replaces wrk.headers when given a table, so the Authorization header is copied in.
LUA = """
local ids = {%(ids)s}
local sent = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
request = function()
  sent = sent + 1
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = "%(run)s-" .. tid .. "-" .. sent
  local body = '{"invoice":"' .. ids[math.random(#ids)] .. '","amount":"0.01","provider":"manual"}'
  return wrk.format("POST", nil, headers, body)
end
"""


def prepare_database() -> None:
    manage("ensure_database")
    manage("migrate", "--noinput", "--verbosity", "0")
    manage("sync_permissions", "--verbosity", "0")


def prepare_fixtures() -> tuple[str, list[str]]:
    """The bench user (billing manager) with a fresh session; the scale data on first use;
    the invoices payments go to."""
    from django.db import connection

    from accounts.models import ApiSession, Role, User, UserProfile
    from accounts.services import credentials, roles
    from billing.models import Invoice, InvoiceStatus
    from core.context import SYSTEM

    if not Invoice.objects.exists():
        manage("seed_billing_scale", "--invoices", str(INVOICES))
    user, _ = User.objects.get_or_create(email=BENCH_EMAIL, defaults={"verified": True})
    UserProfile.objects.get_or_create(user=user, defaults={"display_name": "Billing Bench"})
    roles.user_set_roles(
        user=user, roles=[Role.objects.get(name="billing_manager")], actor=None, context=SYSTEM
    )
    ApiSession.objects.filter(user=user).delete()
    _, token = credentials.session_create(user=user, context=SYSTEM)
    payable = [
        str(pk)
        for pk in Invoice.objects.filter(status=InvoiceStatus.OPEN)
        .order_by("id")
        .values_list("id", flat=True)[:PAYABLE_INVOICES]
    ]
    counts = {}
    with connection.cursor() as cursor:
        for table in ("invoices", "payments"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    print(f"  data: {counts['invoices']:,} invoices, {counts['payments']:,} payments")
    connection.close()
    return token, payable


def lua_script(directory: Path, ids: list[str]) -> Path:
    """A script with a run id of its own, so no key repeats across wrk runs."""
    path = directory / f"pay-{time.monotonic_ns()}.lua"
    quoted = ",".join(f'"{i}"' for i in ids)
    path.write_text(LUA % {"ids": quoted, "run": f"bench-{time.time_ns()}"})
    return path


def post_once(url: str, authorization: str, invoice: str) -> tuple[int, dict]:
    body = json.dumps({"invoice": invoice, "amount": "0.01", "provider": "manual"}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Authorization": authorization,
            "Content-Type": "application/json",
            "Idempotency-Key": f"check-{time.time_ns()}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per contender")
    args = parser.parse_args()

    # Every child (manage.py, both gunicorns) inherits these; the bench never touches another
    # database, whatever the shell says.
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ["REDIS_URL"] = REDIS_URL
    import django

    django.setup()
    announce("bench_billing", args.rounds, args.duration)

    with bench_lock(), tempfile.TemporaryDirectory(prefix="atrium-bench-") as tmp:
        prepare_database()
        token, payable = prepare_fixtures()
        bearer = f"Bearer {token}"
        log_dir = Path(tmp)
        reads = [
            Contender("atrium past-due", ATRIUM + PAST_DUE, bearer),
            Contender("floor past-due", FLOOR + PAST_DUE, bearer),
            Contender("atrium revenue", ATRIUM + REVENUE, bearer),
            Contender("floor revenue", FLOOR + REVENUE, bearer),
        ]
        writes = [
            Contender("atrium payment", ATRIUM + PAYMENTS, bearer),
            Contender("floor payment", FLOOR + PAYMENTS, bearer),
        ]
        pairs = [
            ("atrium past-due", "floor past-due"),
            ("atrium payment", "floor payment"),
            ("atrium revenue", "floor revenue"),
        ]
        with (
            gunicorn("config.wsgi:application", 8110, log_dir) as atrium,
            gunicorn("bench.floor_billing:application", 8111, log_dir) as floor,
        ):
            print("Servers:")
            process_of = {ATRIUM: atrium, FLOOR: floor}
            bodies = {}
            for contender in reads:
                base = contender.url.split("/api/")[0]
                body = wait_for_answer(process_of[base], contender).decode()
                # The next-page link names the server it came from.
                bodies[contender.name] = json.loads(body.replace(base, "http://server"))
            for kind in ("past-due", "revenue"):
                atrium_body, floor_body = bodies[f"atrium {kind}"], bodies[f"floor {kind}"]
                if atrium_body != floor_body:
                    raise SystemExit(
                        f"The floor's {kind} body differs from Atrium's:\n"
                        f"{json.dumps(atrium_body)[:1500]}\n{json.dumps(floor_body)[:1500]}"
                    )
            answers = [post_once(c.url, bearer, payable[0]) for c in writes]
            if [status for status, _ in answers] != [201, 201] or set(answers[0][1]) != set(
                answers[1][1]
            ):
                raise SystemExit(f"The payment answers differ: {answers}")
            order = [reads[0], reads[1], writes[0], writes[1], reads[2], reads[3]]

            def load(contender: Contender, seconds: int) -> LoadResult:
                script = lua_script(log_dir, payable) if contender in writes else None
                result = wrk(contender, seconds, script=script)
                # wrk gives up on requests still queued in gunicorn when its time is up (the
                # revenue report takes about a second each); let them finish before the next
                # contender is measured.
                time.sleep(DRAIN_SECONDS)
                return result

            for contender in order:
                load(contender, WARM_UP_SECONDS)
            rounds: list[dict[str, LoadResult]] = []
            for number in range(1, args.rounds + 1):
                rounds.append({c.name: load(c, args.duration) for c in order})
                print_round(number, rounds[-1], pairs)
            print_summary(rounds, pairs)


if __name__ == "__main__":
    main()
