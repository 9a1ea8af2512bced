"""A large billing data set, loaded fast: ``manage.py seed_billing_scale`` (1 million invoices
with their lines and about 2 million payments over 10,000 customers, by default).

How it is fast: PostgreSQL generates every row itself (``INSERT ... SELECT`` over
``generate_series``, in batches), so no row crosses the wire; ids are ``md5(<kind><n>)`` cast
to a UUID, so an invoice finds its customer and a payment its invoice by arithmetic on row
numbers, without a join. The loading transaction runs with ``session_replication_role =
replica``: the rows are generated consistent (each invoice's one line equals its amount,
payments never exceed it), so the per-row triggers (amount = sum of lines, frozen lines,
updated_at) and foreign-key checks would only cost time. ``VACUUM ANALYZE`` ends the load.

Invoices are spread over the past two years, due 30 days after issue. By row number: 0.5%
drafts (no payments), 60% paid (two succeeded payments that add up to the amount), 25% open
(one succeeded payment of 30% and one failed; most are past due), 5% void and 9.5%
uncollectible (two failed payments). Numbers are ``INV-<year>-<n, 7 digits>``, and the
per-year counters are set past them so finalizing a new invoice continues without a clash.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

BATCH = 100_000


@dataclass(frozen=True)
class ScaleResult:
    customers: int
    invoices: int
    payments: int
    seconds: float


# Row n of the invoices: its status, issue time and amount, all arithmetic on n.
_INVOICE_ROWS = """
    SELECT n,
           md5('inv' || n)::uuid AS id,
           md5('cust' || (n %% %(customers)s))::uuid AS customer_id,
           CASE WHEN n %% 200 < 1 THEN 'draft'
                WHEN n %% 200 < 121 THEN 'paid'
                WHEN n %% 200 < 171 THEN 'open'
                WHEN n %% 200 < 181 THEN 'void'
                ELSE 'uncollectible' END AS status,
           now() - make_interval(mins => ((n * 7919) %% (730 * 24 * 60))::int) AS issued,
           (1000 + (n * 104729) %% 100000)::numeric / 100 AS amount
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
"""

INVOICES_SQL = f"""
    INSERT INTO invoices (id, customer_id, amount, status, due_date, created_at, updated_at,
                          number, finalized_at, paid_at, voided_at, uncollectible_at)
    SELECT id, customer_id, amount, status, issued + interval '30 days', issued, issued,
           CASE WHEN status <> 'draft'
                THEN 'INV-' || extract(year FROM issued) || '-' || lpad(n::text, 7, '0') END,
           CASE WHEN status <> 'draft' THEN issued END,
           CASE WHEN status = 'paid' THEN issued + interval '10 days' END,
           CASE WHEN status = 'void' THEN issued + interval '40 days' END,
           CASE WHEN status = 'uncollectible' THEN issued + interval '90 days' END
    FROM ({_INVOICE_ROWS}) AS rows
"""  # noqa: S608 (built from constants)

LINES_SQL = f"""
    INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                               total, created_at)
    SELECT md5('line' || n)::uuid, id, 1, 'Subscription', 1, amount, amount, issued
    FROM ({_INVOICE_ROWS}) AS rows
"""  # noqa: S608 (built from constants)

# Two payments per invoice that is not a draft (p = 1, 2).
PAYMENTS_SQL = f"""
    INSERT INTO payments (id, invoice_id, amount, status, provider, created_at)
    SELECT md5('pay' || n || '-' || p)::uuid, id,
           CASE WHEN status = 'paid' AND p = 1 THEN round(amount / 2, 2)
                WHEN status = 'paid' THEN amount - round(amount / 2, 2)
                WHEN status = 'open' AND p = 1 THEN round(amount * 0.3, 2)
                ELSE round(amount / 2, 2) END,
           CASE WHEN status = 'paid' OR (status = 'open' AND p = 1) THEN 'succeeded'
                ELSE 'failed' END,
           CASE WHEN n %% 3 = 0 THEN 'card' WHEN n %% 3 = 1 THEN 'bank_transfer'
                ELSE 'manual' END,
           issued + make_interval(days => 3 * p)
    FROM ({_INVOICE_ROWS}) AS rows, generate_series(1, 2) AS p
    WHERE status <> 'draft'
"""  # noqa: S608 (built from constants)


def billing_scale_load(
    *,
    invoices: int = 1_000_000,
    customers: int = 10_000,
    progress: Callable[[str], object] = lambda line: None,
    vacuum: bool = True,
) -> ScaleResult:
    """Loads the data set into a database that has no invoices yet; ``vacuum=False`` skips
    the closing VACUUM ANALYZE (which cannot run inside a transaction, e.g. a test's)."""
    started = time.monotonic()
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM invoices)")
        if cursor.fetchone()[0]:
            raise ValueError("This database already has invoices; load into a fresh one.")
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            "INSERT INTO customers (id, name, email, created_at, updated_at)"
            " SELECT md5('cust' || n)::uuid, 'Customer ' || n,"
            "        'billing-' || n || '@scale.invalid', now(), now()"
            " FROM generate_series(0, %s - 1) AS n",
            [customers],
        )
        for first in range(1, invoices + 1, BATCH):
            params = {"first": first, "last": min(first + BATCH - 1, invoices)}
            params["customers"] = customers
            for sql in (INVOICES_SQL, LINES_SQL, PAYMENTS_SQL):
                cursor.execute(sql, params)
            progress(f"  {params['last']:,} / {invoices:,} invoices")
        cursor.execute(
            "INSERT INTO invoice_number_sequences (year, last_number)"
            " SELECT extract(year FROM created_at)::int, %s FROM invoices"
            " WHERE number IS NOT NULL GROUP BY 1"
            " ON CONFLICT (year) DO UPDATE SET last_number = EXCLUDED.last_number",
            [invoices],
        )
        cursor.execute("SELECT count(*) FROM payments")
        payments = cursor.fetchone()[0]
    if vacuum:
        progress("  VACUUM ANALYZE ...")
        with connection.cursor() as cursor:
            for table in ("customers", "invoices", "invoice_lines", "payments"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    return ScaleResult(
        customers=customers,
        invoices=invoices,
        payments=payments,
        seconds=time.monotonic() - started,
    )
