"""A large billing data set, loaded fast: ``manage.py seed_billing_scale`` (1 million invoices
with their lines and about 2 million payments over 10,000 customers, by default).

How it is fast: PostgreSQL generates every row itself (``INSERT ... SELECT`` over
``generate_series``, in batches), so no row crosses the wire; ids are ``md5(<kind><n>)`` cast
to a UUID, so an invoice finds its customer and a payment its invoice by arithmetic on row
numbers, without a join. The loading transaction runs with ``session_replication_role =
replica``: the rows are generated consistent (each invoice's one line equals its amount,
payments never exceed it), so the per-row triggers (amount = sum of lines, frozen lines,
updated_at) and foreign-key checks would only cost time. The secondary indexes and foreign keys
of invoices, their lines and payments are dropped for the load and built again after it
(``core.scale.indexes_deferred``): the foreign keys are checked then, in one pass each.
``VACUUM ANALYZE`` ends the load.

Invoices are spread over the past two years, due 30 days after issue. By row number: 0.5%
drafts (no payments), 60% paid (two succeeded payments that add up to the amount), 25% open
(one succeeded payment of 30% and one failed; most are past due), 5% void and 9.5%
uncollectible (two failed payments). Numbers are ``INV-<year>-<n, 7 digits>``, and the
per-year counters are set past them so finalizing a new invoice continues without a clash.
The statements are in billing/sql.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from billing import sql
from core.scale import indexes_deferred, pending_refusal

BATCH = 100_000


@dataclass(frozen=True)
class ScaleResult:
    customers: int
    invoices: int
    payments: int
    seconds: float


def refusal() -> str | None:
    """Why ``billing_scale_load`` would refuse to start now, or None; a dry run asks the same
    question."""
    if reason := pending_refusal():
        return reason
    with connection.cursor() as cursor:
        cursor.execute(sql.SCALE_ANY_INVOICE)
        if cursor.fetchone()[0]:
            return "This database already has invoices; load into a fresh one."
    return None


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
    if reason := refusal():
        raise ValueError(reason)
    with (
        indexes_deferred(["invoices", "invoice_lines", "payments"], progress),
        transaction.atomic(durable=True),
        connection.cursor() as cursor,
    ):
        for statement in sql.SCALE_SESSION:
            cursor.execute(statement)
        cursor.execute(sql.SCALE_CUSTOMERS, [customers])
        for first in range(1, invoices + 1, BATCH):
            params = {"first": first, "last": min(first + BATCH - 1, invoices)}
            params["customers"] = customers
            for statement in (sql.SCALE_INVOICES, sql.SCALE_LINES, sql.SCALE_PAYMENTS):
                cursor.execute(statement, params)
            progress(f"  {params['last']:,} / {invoices:,} invoices")
        cursor.execute(sql.SCALE_NUMBER_SEQUENCES, [invoices])
        cursor.execute(sql.SCALE_PAYMENT_COUNT)
        payments = cursor.fetchone()[0]
    if vacuum:
        progress("  VACUUM ANALYZE ...")
        with connection.cursor() as cursor:
            for statement in sql.SCALE_VACUUM:
                cursor.execute(statement)
    return ScaleResult(
        customers=customers,
        invoices=invoices,
        payments=payments,
        seconds=time.monotonic() - started,
    )
