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
    Endpoint,
    announce,
    atrium_floor_stock,
    base_of,
    bench_lock,
    manage,
    redis_url,
    report,
    sweep,
    wait_for_answer,
    warn_if_busy,
    wrk,
)

DATABASE_SERVER = "postgres://postgres@127.0.0.1:5432/"
DATABASE = "atrium_bench_billing"
REDIS_URL = redis_url(13)
SETTINGS_MODULE = "config.settings.bench"
PAST_DUE = "/api/v1/billing/invoices?past_due=true"
REVENUE = "/api/v1/billing/reports/revenue"
PAYMENTS = "/api/v1/billing/payments"
STOCK_PAST_DUE = "/stock/billing/invoices?past_due=true"
STOCK_PAYMENTS = "/stock/billing/payments"
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
    parser.add_argument("--database", default=DATABASE, help="the bench's own database")
    parser.add_argument(
        "--port", type=int, default=8110, help="Atrium's port; the floor and stock take the next"
    )
    args = parser.parse_args()

    # Every child (manage.py, the gunicorns) inherits these; the bench never touches another
    # database, whatever the shell says.
    os.environ["DATABASE_URL"] = DATABASE_SERVER + args.database
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ["REDIS_URL"] = REDIS_URL
    import django

    django.setup()
    announce("bench_billing", args.rounds, args.duration)
    atrium_url, floor_url, stock_url = (
        f"http://127.0.0.1:{args.port + offset}" for offset in range(3)
    )

    with bench_lock(), tempfile.TemporaryDirectory(prefix="atrium-bench-") as tmp:
        prepare_database()
        token, payable = prepare_fixtures()
        bearer = f"Bearer {token}"
        log_dir = Path(tmp)

        def contenders(path: str, stock_path: str | None) -> tuple[Contender, ...]:
            found = (
                Contender(f"atrium {path}", atrium_url + path, bearer),
                Contender(f"floor {path}", floor_url + path, bearer),
            )
            return (
                (*found, Contender(f"stock {path}", stock_url + stock_path, bearer))
                if (stock_path)
                else found
            )

        def pay_script(contender: Contender) -> Path:
            return lua_script(log_dir, payable)

        endpoints = [
            Endpoint("invoices past due", *contenders(PAST_DUE, STOCK_PAST_DUE)),
            Endpoint("record payment", *contenders(PAYMENTS, STOCK_PAYMENTS), script=pay_script),
            Endpoint("revenue report", *contenders(REVENUE, None)),
        ]
        # Before the servers start: booting them is work of our own.
        busy = warn_if_busy()
        with (
            atrium_floor_stock("bench.floor_billing:application", args.port, log_dir) as (
                atrium,
                floor,
                stock,
            ),
        ):
            servers = {atrium_url: atrium, floor_url: floor, stock_url: stock}
            print("Servers:")
            bodies = {}
            for endpoint in (endpoints[0], endpoints[2]):
                for contender in (endpoint.atrium, endpoint.floor):
                    base = base_of(contender.url)
                    body = wait_for_answer(servers[base], contender).decode()
                    # The next-page link names the server it came from.
                    bodies[contender.name] = json.loads(body.replace(base, "http://server"))
                if endpoint.stock is not None:
                    wait_for_answer(stock, endpoint.stock)
            for path in (PAST_DUE, REVENUE):
                atrium_body, floor_body = bodies[f"atrium {path}"], bodies[f"floor {path}"]
                if atrium_body != floor_body:
                    raise SystemExit(
                        f"The floor's {path} body differs from Atrium's:\n"
                        f"{json.dumps(atrium_body)[:1500]}\n{json.dumps(floor_body)[:1500]}"
                    )
            writes = endpoints[1]
            answers = [post_once(c.url, bearer, payable[0]) for c in (writes.atrium, writes.floor)]
            if [status for status, _ in answers] != [201, 201] or set(answers[0][1]) != set(
                answers[1][1]
            ):
                raise SystemExit(f"The payment answers differ: {answers}")

            for endpoint in endpoints:
                for _, contender in endpoint.contenders():
                    script = endpoint.script(contender) if endpoint.script else None
                    wrk(contender, WARM_UP_SECONDS, script=script)
                    time.sleep(DRAIN_SECONDS)
            # wrk gives up on requests still queued in gunicorn when its time is up (the
            # revenue report takes about a second each); they finish before the next load.
            results = sweep(
                endpoints,
                servers,
                rounds=args.rounds,
                duration=args.duration,
                settle=lambda: time.sleep(DRAIN_SECONDS),
            )
            report("billing", endpoints, results, busy=busy or warn_if_busy())


if __name__ == "__main__":
    main()
