"""The SQL billing writes by hand, as text free of Django.

billing/services/, billing/selectors.py and billing/scale.py run these statements through
Django's connection; bench/floor_billing.py sends the very same text through a bare psycopg
pool, so the benchmark's floor measures Atrium's SQL and nothing else.

They are written out where the ORM cannot say them in one statement: an upsert that returns
the counter it bumped, and reports whose sums PostgreSQL computes; and record-payment's hot
path (the balance and the payment; the Idempotency-Key statements are core/sql.py's), so
the benchmark floor sends Atrium's own text for it. Beside them sits the text the
ORM compiles for the other statements of the benchmarked requests, so the floor sends no copy
of its own; a test holds that text to what Django sends. Values are always bound parameters;
the only interpolated pieces are this module's own constants.

The invoice list is answered as JSON PostgreSQL builds (core.sql.json_page around the ORM's
statement, each row written by ``INVOICE_SUMMARY``), as chat's pages are.
"""

from core.sql import RowJSON, iso_timestamp, json_page, money

# The next invoice number of a year (%s). The counter row stays locked until the caller's
# transaction ends, so numbers are handed out in commit order and a rollback returns its
# number: no gaps, no duplicates.
INVOICE_NUMBER_NEXT = (
    "INSERT INTO invoice_number_sequences (year, last_number) VALUES (%s, 1)"
    " ON CONFLICT (year) DO UPDATE"
    " SET last_number = invoice_number_sequences.last_number + 1"
    " RETURNING last_number"
)
# The same for credit notes, which are numbered in a sequence of their own.
CREDIT_NOTE_NUMBER_NEXT = INVOICE_NUMBER_NEXT.replace(
    "invoice_number_sequences", "credit_note_number_sequences"
)


# What an invoice's payments hold, have settled and have had refunded, for its balance
# (billing.services.payments.invoice_balance): pending payments reserve their amount, so two
# attempts in flight can never together exceed what is due; money is settled once succeeded.
INVOICE_BALANCE = (
    "SELECT coalesce(sum(amount) FILTER (WHERE status IN ('pending', 'succeeded', 'refunded')),"
    " 0.00),"
    " coalesce(sum(amount) FILTER (WHERE status IN ('succeeded', 'refunded')), 0.00),"
    " coalesce(sum(refunded_amount), 0.00)"
    " FROM payments WHERE invoice_id = %(invoice)s"
)


# A payment (billing.services.payments.payment_record), ``metadata`` as JSON text; the
# database supplies created_at and the refunded amount (zero), which it returns.
PAYMENT_INSERT = (
    "INSERT INTO payments (id, invoice_id, amount, status, provider, metadata, recorded_by_id)"
    " VALUES (%(payment)s, %(invoice)s, %(amount)s, %(status)s, %(provider)s,"
    " %(metadata)s::jsonb, %(recorded_by)s)"
    " RETURNING created_at, refunded_amount"
)

# --- what the ORM compiles on the benchmarked paths ----------------------------------------------
# The statements below are Django's own: Atrium sends them through the ORM, and they are kept
# here, as the ORM renders them, so bench/floor_billing.py sends the very same text.
# tests/billing/test_floor.py captures what Atrium sends for each benchmarked request and
# holds every one of these to it. Every value is a bound parameter, as Django binds it.

_INVOICE_COLUMNS = (
    '"invoices"."id", "invoices"."created_at", "invoices"."updated_at",'
    ' "invoices"."customer_id", "invoices"."amount", "invoices"."status",'
    ' "invoices"."due_date", "invoices"."number", "invoices"."finalized_at",'
    ' "invoices"."finalized_by_id", "invoices"."paid_at", "invoices"."paid_by_id",'
    ' "invoices"."voided_at", "invoices"."voided_by_id", "invoices"."uncollectible_at",'
    ' "invoices"."uncollectible_by_id", "invoices"."pdf_sha256", "invoices"."credited_amount",'
    ' "invoices"."dunning_exhausted_at"'
)

# An invoice of the list as billing.api.serializers.InvoiceOutput writes it; the customer's
# name comes through the ORM's values("customer__name").
INVOICE_SUMMARY = RowJSON(
    (
        "id",
        "number",
        "customer_id",
        "customer__name",
        "status",
        "amount",
        "due_date",
        "created_at",
        "updated_at",
        "finalized_at",
        "paid_at",
        "voided_at",
        "uncollectible_at",
    ),
    "r.id, r.number, r.customer_id AS customer, r.customer__name AS customer_name, r.status,"
    f" {money('r.amount')} AS amount, {iso_timestamp('r.due_date')} AS due_date,"
    f" {iso_timestamp('r.created_at')} AS created_at,"
    f" {iso_timestamp('r.updated_at')} AS updated_at,"
    f" {iso_timestamp('r.finalized_at')} AS finalized_at,"
    f" {iso_timestamp('r.paid_at')} AS paid_at, {iso_timestamp('r.voided_at')} AS voided_at,"
    f" {iso_timestamp('r.uncollectible_at')} AS uncollectible_at",
)

# The first page of past-due invoices (the invoice list with ?past_due=true), oldest due
# first, as the ORM compiles it. Parameters: now, the open status.
PAST_DUE_FIRST_PAGE = (
    'SELECT "invoices"."id" AS "id", "invoices"."number" AS "number",'
    ' "invoices"."customer_id" AS "customer_id", "customers"."name" AS "customer__name",'
    ' "invoices"."status" AS "status", "invoices"."amount" AS "amount",'
    ' "invoices"."due_date" AS "due_date", "invoices"."created_at" AS "created_at",'
    ' "invoices"."updated_at" AS "updated_at", "invoices"."finalized_at" AS "finalized_at",'
    ' "invoices"."paid_at" AS "paid_at", "invoices"."voided_at" AS "voided_at",'
    ' "invoices"."uncollectible_at" AS "uncollectible_at" FROM "invoices"'
    ' INNER JOIN "customers" ON ("invoices"."customer_id" = "customers"."id")'
    ' WHERE ("invoices"."due_date" < %s AND "invoices"."status" = %s)'
    " ORDER BY 7 ASC, 1 ASC LIMIT 51"
)
# The same page as the API answers it. Parameters: PAST_DUE_FIRST_PAGE's, then the page size.
PAST_DUE_JSON_PAGE = json_page(PAST_DUE_FIRST_PAGE, INVOICE_SUMMARY, ("due_date", "id"), False)

# Recording a payment. The ORM keeps these two: the first is how DRF's PrimaryKeyRelatedField
# (billing.api PaymentInput) checks the id it was sent, the second is
# billing.services.invoices.lock, which every invoice write shares.
# The invoice the request names (parameter: its id).
INVOICE_GET = f'SELECT {_INVOICE_COLUMNS} FROM "invoices" WHERE "invoices"."id" = %s LIMIT 21'
# The same, its row locked to the end of the transaction.
INVOICE_LOCK = INVOICE_GET + " FOR UPDATE"

# --- reports ---------------------------------------------------------------------------------

# Two views of each calendar month (UTC; Django's connections run in UTC), side by side:
# - money moved (received, refunded, net = received - refunded): a payment counts in the month
#   it was recorded once it has succeeded, a refund in the month it was given;
# - money billed (invoiced, credited, voided, billed = invoiced - credited - voided): an invoice
#   counts in the month it was finalized, a credit note in the month it was issued, a void (what
#   the invoice still asked for after its credits) in the month it was voided.
# A credit note lowers `billed`, never `net`: it moves no money, and when a credited payment is
# given back the refund lowers `net`, so subtracting the credit from `net` too would count it
# twice. billed - net is what customers' balances grew by over the month: exactly the sum of
# the customer statements' movements (CUSTOMER_STATEMENT). Invoices finalized or voided before
# their times were recorded count from their creation (and a void from there).
# Each source is summed per month before the sources are combined; payments over the partial
# index payments_settled_idx, invoices in two plain scans (one per time; no index serves
# finalized_at, and a lateral join making both rows of an invoice in one scan cost 4x more).
REVENUE_BY_MONTH = """
    SELECT month, sum(received), sum(refunded), sum(received) - sum(refunded),
           sum(invoiced), sum(credited), sum(voided),
           sum(invoiced) - sum(credited) - sum(voided)
    FROM (
        SELECT date_trunc('month', created_at) AS month, sum(amount) AS received,
               0 AS refunded, 0 AS invoiced, 0 AS credited, 0 AS voided
        FROM payments
        WHERE status IN ('succeeded', 'refunded') AND created_at >= %(since)s
        GROUP BY 1
        UNION ALL
        SELECT date_trunc('month', created_at), 0, sum(amount), 0, 0, 0
        FROM refunds
        WHERE created_at >= %(since)s
        GROUP BY 1
        UNION ALL
        SELECT date_trunc('month', coalesce(finalized_at, created_at)), 0, 0, sum(amount), 0, 0
        FROM invoices
        WHERE status <> 'draft' AND coalesce(finalized_at, created_at) >= %(since)s
        GROUP BY 1
        UNION ALL
        SELECT date_trunc('month', coalesce(voided_at, finalized_at, created_at)), 0, 0, 0, 0,
               sum(amount - credited_amount)
        FROM invoices
        WHERE status = 'void' AND coalesce(voided_at, finalized_at, created_at) >= %(since)s
        GROUP BY 1
        UNION ALL
        SELECT date_trunc('month', issued_at), 0, 0, 0, sum(amount), 0
        FROM credit_notes
        WHERE issued_at >= %(since)s
        GROUP BY 1
    ) moves
    GROUP BY month
    ORDER BY month
"""

# What each customer still owes on open invoices (amount less credit notes and succeeded
# payments net of refunds), the part of it already past due, and what credit notes took off
# those invoices.
OUTSTANDING_BY_CUSTOMER = """
    SELECT c.id, c.name, count(*),
           sum(i.amount - i.credited_amount - coalesce(p.paid, 0)),
           coalesce(sum(i.amount - i.credited_amount - coalesce(p.paid, 0))
                    FILTER (WHERE i.due_date < %(now)s), 0),
           sum(i.credited_amount)
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

# What is owed in all, how much of it is past due, and what credit notes took off: the sums
# of OUTSTANDING_BY_CUSTOMER without the grouping (the console's dashboard).
OUTSTANDING_TOTALS = """
    SELECT count(*),
           coalesce(sum(i.amount - i.credited_amount - coalesce(p.paid, 0)), 0),
           count(*) FILTER (WHERE i.due_date < %(now)s),
           coalesce(sum(i.amount - i.credited_amount - coalesce(p.paid, 0))
                    FILTER (WHERE i.due_date < %(now)s), 0),
           coalesce(sum(i.credited_amount), 0)
    FROM invoices i
    LEFT JOIN LATERAL (
        SELECT sum(amount) FILTER (WHERE status IN ('succeeded', 'refunded'))
               - sum(refunded_amount) AS paid
        FROM payments WHERE invoice_id = i.id
    ) p ON true
    WHERE i.status = 'open'
"""

# A customer's statement (billing.selectors.customer_statement): every movement of their
# account, each signed as it moves what they owe (a debit positive, a credit negative):
#   invoice      + amount, when finalized (reference: its number)
#   credit_note  - amount, when issued (its CN number)
#   payment      - amount, when recorded, once succeeded (refunded ones included, as their
#                  refunds are debits of their own; reference: the payment's id)
#   refund       + amount, when given (the refunded payment's id)
#   void         - what the invoice still asked for after its credit notes, when voided (its
#                  number): money paid on it stays the customer's until refunded
# Marking an invoice uncollectible moves nothing: the customer still owes it, and may pay it.
# Invoices finalized or voided before those times were recorded count from their creation.
# The first row is the opening balance (every movement before %(from)s, one aggregate row even
# when there is none), then the movements from %(from)s to the end of %(to)s (dates, UTC) in
# order, each with the running balance a window sum gives; the last row's balance closes.
# The invoices come through invoices_customer_idx, their payments, refunds and credit notes
# through the indexes on their invoice or payment.
CUSTOMER_STATEMENT = """
    WITH bounds AS (
        SELECT %(from)s::date::timestamp AT TIME ZONE 'UTC' AS start,
               (%(to)s::date + 1)::timestamp AT TIME ZONE 'UTC' AS stop
    ),
    inv AS (
        SELECT id, number, amount, credited_amount, status,
               coalesce(finalized_at, created_at) AS finalized_at,
               coalesce(voided_at, finalized_at, created_at) AS voided_at
        FROM invoices
        WHERE customer_id = %(customer)s AND status <> 'draft'
    ),
    moves AS (
        SELECT finalized_at AS at, 1 AS rank, 'invoice' AS kind, id AS id,
               number AS reference, number AS invoice, amount
        FROM inv
        UNION ALL
        SELECT cn.issued_at, 2, 'credit_note', cn.id, cn.number, inv.number, -cn.amount
        FROM inv JOIN credit_notes cn ON cn.invoice_id = inv.id
        UNION ALL
        SELECT p.created_at, 3, 'payment', p.id, p.id::text, inv.number, -p.amount
        FROM inv JOIN payments p ON p.invoice_id = inv.id
        WHERE p.status IN ('succeeded', 'refunded')
        UNION ALL
        SELECT r.created_at, 4, 'refund', r.id, p.id::text, inv.number, r.amount
        FROM inv JOIN payments p ON p.invoice_id = inv.id JOIN refunds r ON r.payment_id = p.id
        UNION ALL
        SELECT voided_at, 5, 'void', id, number, number, -(amount - credited_amount)
        FROM inv
        WHERE status = 'void'
    ),
    lines AS (
        SELECT min(bounds.start) AS at, 0 AS rank, 'opening' AS kind, NULL::uuid AS id,
               NULL::text AS reference, NULL::text AS invoice,
               coalesce(sum(moves.amount), 0.00) AS amount
        FROM bounds LEFT JOIN moves ON moves.at < bounds.start
        UNION ALL
        SELECT moves.*
        FROM moves, bounds
        WHERE moves.at >= bounds.start AND moves.at < bounds.stop
    )
    SELECT kind, at, reference, invoice, amount,
           sum(amount) OVER (ORDER BY rank = 0 DESC, at, rank, id ROWS UNBOUNDED PRECEDING)
    FROM lines
    ORDER BY rank = 0 DESC, at, rank, id
"""

# --- the benchmark data set (billing/scale.py) ------------------------------------------------

SCALE_ANY_INVOICE = "SELECT EXISTS (SELECT 1 FROM invoices)"
# The rows are generated consistent, so triggers and foreign-key checks would only cost time.
SCALE_SESSION = (
    "SET LOCAL session_replication_role = replica",
    "SET LOCAL synchronous_commit = off",
)
SCALE_CUSTOMERS = (
    "INSERT INTO customers (id, name, email, created_at, updated_at)"
    " SELECT md5('cust' || n)::uuid, 'Customer ' || n,"
    "        'billing-' || n || '@scale.invalid', now(), now()"
    " FROM generate_series(0, %s - 1) AS n"
)

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

SCALE_INVOICES = f"""
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
"""

SCALE_LINES = f"""
    INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price,
                               total, created_at)
    SELECT md5('line' || n)::uuid, id, 1, 'Subscription', 1, amount, amount, issued
    FROM ({_INVOICE_ROWS}) AS rows
"""

# Two payments per invoice that is not a draft (p = 1, 2).
SCALE_PAYMENTS = f"""
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
"""

# Finalizing a new invoice continues past the loaded numbers (%s: the invoices loaded).
SCALE_NUMBER_SEQUENCES = (
    "INSERT INTO invoice_number_sequences (year, last_number)"
    " SELECT extract(year FROM created_at)::int, %s FROM invoices"
    " WHERE number IS NOT NULL GROUP BY 1"
    " ON CONFLICT (year) DO UPDATE SET last_number = EXCLUDED.last_number"
)
SCALE_PAYMENT_COUNT = "SELECT count(*) FROM payments"
SCALE_VACUUM = (
    "VACUUM ANALYZE customers",
    "VACUUM ANALYZE invoices",
    "VACUUM ANALYZE invoice_lines",
    "VACUUM ANALYZE payments",
)


# --- reminders (billing/services/sending.py) --------------------------------------------------

# One reminder per open invoice whose next step is due: the latest step reached, if no
# reminder of that step or a later one was recorded (an invoice found late, or a worker that
# was down for days, gets one reminder, not every step it missed). The row is written before
# any email, and the unique index on (invoice_id, reminder_step) is the last line against a
# second one. The due-date bound is the (status, due_date) index's range: only invoices past
# the earliest step are read. %(steps)s: the steps, ascending; %(earliest)s their first.
REMINDERS_QUEUE = """
    WITH due AS (
        SELECT i.id AS invoice_id, c.email, max(s.step) AS step
        FROM invoices i
        JOIN customers c ON c.id = i.customer_id
        CROSS JOIN unnest(%(steps)s::integer[]) AS s(step)
        WHERE i.status = 'open'
          AND i.dunning_exhausted_at IS NULL
          AND i.due_date <= %(now)s - make_interval(days => %(earliest)s)
          AND i.due_date <= %(now)s - make_interval(days => s.step)
        GROUP BY i.id, c.email
    )
    INSERT INTO invoice_sends (id, invoice_id, "to", reminder_step, status, requested_at,
                               attempts, last_error)
    SELECT gen_random_uuid(), due.invoice_id, due.email, due.step, 'queued', %(now)s, 0, ''
    FROM due
    WHERE NOT EXISTS (
        SELECT 1 FROM invoice_sends r
        WHERE r.invoice_id = due.invoice_id AND r.reminder_step >= due.step
    )
    ON CONFLICT (invoice_id, reminder_step) WHERE reminder_step IS NOT NULL DO NOTHING
    RETURNING id, invoice_id, reminder_step
"""
