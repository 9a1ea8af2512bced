"""The billing benchmark's floor measures Atrium's own SQL: every statement it sends comes from
billing/sql.py or core/sql.py, and each is one Atrium really sends for the benchmarked
requests (the ORM's own text included), so the two cannot drift apart."""

import ast
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts import sql as accounts_sql
from billing import sql
from billing.models import InvoiceStatus
from core import sql as core_sql
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE, pay
from tests.floors import BENCH, sql_text_in

pytestmark = pytest.mark.django_db

MODULES = {"sql": sql, "core_sql": core_sql}


def _floor_statements() -> set[str]:
    """The statements bench/floor_billing.py names (``sql.X``, ``core_sql.X``)."""
    tree = ast.parse((BENCH / "floor_billing.py").read_text())
    named = {
        getattr(MODULES[node.value.id], node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in MODULES
    }
    return {value for value in named if isinstance(value, str)}


def _sent_by_atrium(api, path: str, send) -> list[str]:
    """The statements Atrium sends for one request, the credential lookup and the test's
    savepoints left out."""
    sent: list[str] = []

    def capture(execute, statement, params, many, context):
        sent.append(statement)
        return execute(statement, params, many, context)

    with connection.execute_wrapper(capture):
        response = send()
    assert response.status_code in (200, 201), (path, response.content)
    return [
        statement
        for statement in sent
        if statement != accounts_sql.SESSION_LOOKUP and "SAVEPOINT" not in statement
    ]


def test_the_floor_holds_no_sql_text_of_its_own():
    assert sql_text_in("floor_billing") == []


def test_every_statement_the_floor_sends_is_one_atrium_sends(api):
    invoice = invoice_with_lines(
        status=InvoiceStatus.OPEN,
        amount=Decimal("50.00"),
        due_date=timezone.now() - timedelta(days=2),
    )
    past_due = _sent_by_atrium(api, "past due", lambda: api.get(f"{BASE}/invoices?past_due=true"))
    revenue = _sent_by_atrium(api, "revenue", lambda: api.get(f"{BASE}/reports/revenue"))
    payment = _sent_by_atrium(api, "payment", lambda: pay(api, invoice.pk, "0.01", key="k-1"))

    assert past_due == [sql.PAST_DUE_JSON_PAGE]
    assert revenue == [sql.REVENUE_BY_MONTH]
    # The floor's payment sends these, in this order, in one transaction after the lookup.
    assert payment == [
        sql.INVOICE_GET,
        core_sql.IDEMPOTENCY_CLAIM,
        sql.INVOICE_LOCK,
        sql.INVOICE_BALANCE,
        sql.PAYMENT_INSERT,
        core_sql.INSERT_AUDIT_EVENT,
        core_sql.INSERT_EVENT,
        core_sql.IDEMPOTENCY_STORE,
    ]
    assert _floor_statements() <= {*past_due, *revenue, *payment}
