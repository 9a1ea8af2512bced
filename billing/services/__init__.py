"""Writes for billing, one module per sub-domain; callers import the module they need
(``from billing.services import invoices``).

Every public function is one durable transaction that checks what only it can know, changes
state, writes its audit event and announces what happened (core.events.publish). The money
writes and the other creates a client may retry may instead run inside
``core.services.idempotency.run_once``, whose durable transaction also stores their answer.

Money is ``Decimal`` throughout, rounded half-up to the cent where a line total is made.
Every write that depends on an invoice's totals (payments, refunds, transitions) first takes
the invoice's row lock, so concurrent writers queue on it and each sees the others' effects.
Lock order is always invoice, then payment.
"""
