"""The SQL billing writes by hand, as text free of Django.

billing/services/, billing/selectors.py and billing/scale.py run these statements through
Django's connection; bench/floor_billing.py sends the very same text through a bare psycopg
pool, so the benchmark's floor measures Atrium's SQL and nothing else.

They are written out where the ORM cannot say them in one statement: an upsert that returns
the counter it bumped, an insert that tells whether a key was new, and reports whose sums
PostgreSQL computes. Values are always bound parameters; the only interpolated pieces are
this module's own constants.
"""

# The next invoice number of a year (%s). The counter row stays locked until the caller's
# transaction ends, so numbers are handed out in commit order and a rollback returns its
# number: no gaps, no duplicates.
INVOICE_NUMBER_NEXT = (
    "INSERT INTO invoice_number_sequences (year, last_number) VALUES (%s, 1)"
    " ON CONFLICT (year) DO UPDATE"
    " SET last_number = invoice_number_sequences.last_number + 1"
    " RETURNING last_number"
)

# Claims an Idempotency-Key (user, key, fingerprint): returns a row when the key is new. A
# concurrent claim of the same key blocks on the unique index until the first transaction
# ends.
IDEMPOTENCY_CLAIM = (
    "INSERT INTO idempotency_keys (id, user_id, key, fingerprint)"
    " VALUES (gen_random_uuid(), %s, %s, %s)"
    " ON CONFLICT (user_id, key) DO NOTHING RETURNING id"
)

# --- reports ---------------------------------------------------------------------------------

# Money is counted when it moves: a payment in the month it succeeded (recorded), a refund in
# the month it was given. Months are UTC (Django's connections run in UTC). Each side is summed
# per month before the two are combined, over the partial index payments_settled_idx.
REVENUE_BY_MONTH = """
    SELECT month, sum(received), sum(refunded), sum(received) - sum(refunded)
    FROM (
        SELECT date_trunc('month', created_at) AS month, sum(amount) AS received,
               0 AS refunded
        FROM payments
        WHERE status IN ('succeeded', 'refunded') AND created_at >= %(since)s
        GROUP BY 1
        UNION ALL
        SELECT date_trunc('month', created_at), 0, sum(amount)
        FROM refunds
        WHERE created_at >= %(since)s
        GROUP BY 1
    ) moves
    GROUP BY month
    ORDER BY month
"""

# What each customer still owes on open invoices (amount less succeeded payments net of
# refunds), and the part of it already past due.
OUTSTANDING_BY_CUSTOMER = """
    SELECT c.id, c.name, count(*),
           sum(i.amount - coalesce(p.paid, 0)),
           coalesce(sum(i.amount - coalesce(p.paid, 0)) FILTER (WHERE i.due_date < %(now)s), 0)
    FROM invoices i
    JOIN customers c ON c.id = i.customer_id
    LEFT JOIN LATERAL (
        SELECT sum(amount) FILTER (WHERE status IN ('succeeded', 'refunded'))
               - sum(refunded_amount) AS paid
        FROM payments WHERE invoice_id = i.id
    ) p ON true
    WHERE i.status = 'open'
    GROUP BY c.id, c.name
    ORDER BY 4 DESC, c.id
    LIMIT %(limit)s
"""
