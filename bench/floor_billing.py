"""The floor for the billing endpoints: a bare WSGI function that does what Atrium must do for
each request and nothing more, sending the very SQL Atrium sends (billing/sql.py and
core/sql.py, never text of its own) and answering the same JSON.

- ``GET /api/v1/billing/invoices?past_due=true``: the first page of past-due invoices.
- ``GET /api/v1/billing/reports/revenue``: revenue by month, the last 12 months.
- ``POST /api/v1/billing/payments`` (with ``Idempotency-Key``): claims the key, locks the
  invoice, sums its payments, inserts the payment, its audit row and its outbox event, stores
  the answer, in one transaction.

Every request first runs Atrium's credential lookup (bench.floor_me, whose pool this reuses),
which brings the permission names too.

Run: DATABASE_URL=postgres://... gunicorn bench.floor_billing:application -w 3
(bench/bench_billing.py starts it.)
"""

import base64
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

from psycopg.types.json import Jsonb

from bench.floor_me import StartResponse, _timestamp, caller_of, pool, request_id

# billing/sql.py and core/sql.py are plain Python; importing them runs no Django. Every
# statement below comes from there: hand-written ones Atrium sends too, and the ORM's own text
# that tests/billing/test_floor.py holds to what Atrium really sends.
from billing import sql
from core import sql as core_sql

# core.api.pagination.CursorPagination's default.
PAGE_SIZE = 50
# core.api.context: the longest user agent the audit row keeps.
USER_AGENT_MAX = 512


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _json(status: str, body: Any, start_response: StartResponse) -> Iterable[bytes]:
    if isinstance(body, bytes):  # JSON PostgreSQL wrote
        data = body
    else:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def _past_due(environ, connection) -> bytes:
    """The page's body; PostgreSQL writes its rows (billing/sql.py's PAST_DUE_JSON_PAGE)."""
    results, found, *ends = connection.execute(
        sql.PAST_DUE_JSON_PAGE, (datetime.now(UTC), "open", PAGE_SIZE)
    ).fetchone()
    following = None
    if found > PAGE_SIZE:
        # core.api.pagination's cursor: the last row's ordering values, base64 like DRF's.
        due_date, invoice_id = ends[2:]
        position = json.dumps([str(due_date.astimezone(UTC)), str(invoice_id)])
        cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()
        # DRF's replace_query_param: the query's parameters sorted, the cursor among them.
        query = parse_qs(environ["QUERY_STRING"], keep_blank_values=True)
        query["cursor"] = [cursor]
        query_string = urlencode(sorted(query.items()), doseq=True)
        following = f"http://{environ['HTTP_HOST']}{environ['PATH_INFO']}?{query_string}"
    return f'{{"next":{json.dumps(following)},"previous":null,"results":{results}}}'.encode()


def _revenue(connection) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - 11
    since = now.replace(
        year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0, second=0, microsecond=0
    )
    rows = connection.execute(sql.REVENUE_BY_MONTH, {"since": since}).fetchall()
    return [
        {
            "month": _timestamp(m),
            "received": _money(r),
            "refunded": _money(f),
            "net": _money(n),
            "invoiced": _money(i),
            "credited": _money(c),
            "voided": _money(v),
            "billed": _money(b),
        }
        for m, r, f, n, i, c, v, b in rows
    ]


def _pay(environ, connection, user_id) -> tuple[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length)
    body = json.loads(raw)
    key = environ.get("HTTP_IDEMPOTENCY_KEY")
    invoice_id = uuid.UUID(body["invoice"])
    amount = Decimal(body["amount"])
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(f"POST\n{environ['PATH_INFO']}\n{canonical}".encode()).hexdigest()
    if connection.execute(sql.INVOICE_GET, (invoice_id,)).fetchone() is None:
        return "400 Bad Request", {"status": 400}
    # billing.services.payments.payment_record inside idempotency.run_once, with the values
    # Atrium binds (a succeeded payment, no metadata).
    with connection.transaction():
        if (
            connection.execute(core_sql.IDEMPOTENCY_CLAIM, (user_id, key, fingerprint)).fetchone()
            is None
        ):
            return "409 Conflict", {"status": 409}
        invoice = connection.execute(sql.INVOICE_LOCK, (invoice_id,)).fetchone()
        held, _settled, refunded = connection.execute(
            sql.INVOICE_BALANCE, {"invoice": invoice_id}
        ).fetchone()
        # Columns 4 and 17: the amount and what credit notes took off it.
        due = invoice[4] - invoice[17]
        if invoice[5] not in ("open", "uncollectible") or amount > due - (held - refunded):
            return "409 Conflict", {"status": 409}
        payment_id = uuid.uuid4()
        created_at, refunded_amount = connection.execute(
            sql.PAYMENT_INSERT,
            {
                "payment": payment_id,
                "invoice": invoice_id,
                "amount": amount,
                "status": "succeeded",
                "provider": body["provider"],
                "metadata": "{}",
                "recorded_by": user_id,
            },
        ).fetchone()
        after = {"invoice": str(invoice_id), "amount": _money(amount), "status": "succeeded"}
        remote = environ.get("REMOTE_ADDR")
        connection.execute(
            core_sql.INSERT_AUDIT_EVENT,
            (
                uuid.uuid4(),
                user_id,
                "payment.recorded",
                "billing.payment",
                str(payment_id),
                None,
                Jsonb(after),
                ipaddress.ip_address(remote) if remote else None,
                environ.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
            ),
        )
        answer = {
            "id": str(payment_id),
            "invoice": str(invoice_id),
            "amount": _money(amount),
            "refunded_amount": _money(refunded_amount),
            "status": "succeeded",
            "provider": body["provider"],
            "metadata": {},
            "created_at": _timestamp(created_at),
        }
        connection.execute(
            core_sql.INSERT_EVENT,
            core_sql.event_params(
                type="payment.recorded",
                object_type="billing.payment",
                object_id=str(payment_id),
                # The payment as the API answers it (core.events: the payload is the object).
                payload=answer,
                actor_id=str(user_id),
                audience_kind="permission",
                audience_key="billing.view_payment",
                request_id=request_id(environ),
            ),
        ).fetchone()
        connection.execute(
            core_sql.IDEMPOTENCY_STORE,
            {"status": 201, "body": json.dumps(answer), "user": user_id, "key": key},
        )
    return "201 Created", answer


ROUTES = {
    ("GET", "/api/v1/billing/invoices"): "billing.view_invoice",
    ("GET", "/api/v1/billing/reports/revenue"): "billing.view_billing_report",
    ("POST", "/api/v1/billing/payments"): "billing.add_payment",
}


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    route = (environ["REQUEST_METHOD"], environ["PATH_INFO"])
    user = caller_of(environ.get("HTTP_AUTHORIZATION", ""))
    if user is None:
        return _json("401 Unauthorized", {"status": 401}, start_response)
    user_id = user.user_id
    if route not in ROUTES or ROUTES[route] not in user.permission_names:
        return _json("403 Forbidden", {"status": 403}, start_response)
    with pool.connection() as connection:
        if route[1].endswith("/invoices"):
            return _json("200 OK", _past_due(environ, connection), start_response)
        if route[1].endswith("/revenue"):
            return _json("200 OK", _revenue(connection), start_response)
        status, body = _pay(environ, connection, user_id)
        return _json(status, body, start_response)
