"""Invoices through the API: lines and totals, numbering, the status machine."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus
from core.models import AuditAction, AuditEvent
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE, a_line, create_invoice, pay, status_of, transition
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

# --- lines and totals -----------------------------------------------------------------------


def test_invoice_amount_is_the_sum_of_lines_rounded_half_up_per_line(api):
    lines = [
        a_line("0.33", quantity="3"),  # 0.99
        a_line("0.01", quantity="0.5"),  # 0.005 -> 0.01 (banker's rounding would give 0.00)
        a_line("0.03", quantity="2.5"),  # 0.075 -> 0.08 (a float would give 0.07)
        a_line("10.05", quantity="0.333"),  # 3.34665 -> 3.35
    ]

    response = create_invoice(api, CustomerFactory(), lines)

    assert response.status_code == 201, response.content
    body = response.json()
    assert [line["total"] for line in body["lines"]] == ["0.99", "0.01", "0.08", "3.35"]
    assert body["amount"] == "4.43"
    assert body["status"] == "draft"
    assert body["number"] is None


def test_money_travels_as_decimal_strings_even_when_sent_as_json_numbers(api):
    response = create_invoice(
        api, CustomerFactory(), [{"description": "x", "quantity": 3, "unit_price": 0.1}]
    )

    assert response.json()["amount"] == "0.30"


def test_a_product_line_takes_the_product_name_and_price(api):
    product = ProductFactory(name="Team plan", price="49.90")

    response = create_invoice(
        api, CustomerFactory(), [{"product": str(product.pk), "quantity": "2"}]
    )

    line = response.json()["lines"][0]
    assert (line["description"], line["unit_price"], line["total"]) == (
        "Team plan",
        "49.90",
        "99.80",
    )


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"description": "x", "quantity": "0", "unit_price": "1.00"}, "lines.0.quantity"),
        ({"description": "x", "quantity": "1", "unit_price": "-1.00"}, "lines.0.unit_price"),
        ({"description": "x", "quantity": "1", "unit_price": "1.005"}, "lines.0.unit_price"),
        ({"description": "x", "quantity": "1"}, "lines.0.unit_price"),
        ({"quantity": "1", "unit_price": "1.00"}, "lines.0.description"),
        (
            {"description": "x", "quantity": "1", "unit_price": "99999999.99"} | {"quantity": "2"},
            "lines.0.quantity",
        ),
    ],
)
def test_bad_lines_are_refused_naming_the_field(api, line, field):
    response = create_invoice(api, CustomerFactory(), [line])

    assert response.status_code == 400, response.content
    assert field in {error["field"] for error in response.json()["errors"]}
    assert not Invoice.objects.exists()


def test_a_deactivated_product_cannot_go_on_a_new_line(api):
    product = ProductFactory(active=False)

    response = create_invoice(
        api, CustomerFactory(), [{"product": str(product.pk), "quantity": "1"}]
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "lines.0.product"


def test_editing_a_draft_replaces_its_lines_and_amount(api):
    invoice_id = create_invoice(api, CustomerFactory()).json()["id"]

    response = api.patch(
        f"{BASE}/invoices/{invoice_id}", {"lines": [a_line("12.50", quantity="2")]}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["amount"] == "25.00"
    assert len(response.json()["lines"]) == 1


def test_the_database_refuses_an_amount_that_is_not_the_sum_of_the_lines():
    invoice = invoice_with_lines(status=InvoiceStatus.DRAFT)

    with (
        pytest.raises(IntegrityError) as error,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE invoices SET amount = amount + 0.01 WHERE id = %s", [invoice.pk])
        cursor.execute("SET CONSTRAINTS billing_invoice_amount_matches_lines IMMEDIATE")

    assert error.value.__cause__.diag.constraint_name == "billing_invoice_amount_matches_lines"


def test_the_database_refuses_a_line_added_behind_the_amounts_back():
    invoice = invoice_with_lines(status=InvoiceStatus.DRAFT)

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO invoice_lines (id, invoice_id, position, description, quantity,"
            " unit_price, total) VALUES (gen_random_uuid(), %s, 9, 'extra', 1, 5, 5)",
            [invoice.pk],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_database_refuses_to_change_the_lines_of_a_finalized_invoice():
    invoice = invoice_with_lines(status=InvoiceStatus.OPEN)

    with (
        pytest.raises(IntegrityError) as error,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE invoice_lines SET description = 'changed' WHERE invoice_id = %s", [invoice.pk]
        )

    assert error.value.__cause__.diag.constraint_name == "billing_invoiceline_frozen_after_draft"


# --- numbering ------------------------------------------------------------------------------


def test_finalizing_numbers_invoices_in_sequence_per_year(api):
    customer = CustomerFactory()
    ids = [create_invoice(api, customer).json()["id"] for _ in range(3)]

    numbers = [transition(api, invoice_id, "finalize").json()["number"] for invoice_id in ids]

    year = timezone.now().year
    assert numbers == [f"INV-{year}-000001", f"INV-{year}-000002", f"INV-{year}-000003"]


def test_a_refused_finalization_uses_up_no_number(api):
    customer = CustomerFactory()
    empty = create_invoice(api, customer, lines=[]).json()["id"]
    full = create_invoice(api, customer).json()["id"]

    refused = transition(api, empty, "finalize")
    number = transition(api, full, "finalize").json()["number"]

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "lines"
    assert number == f"INV-{timezone.now().year}-000001"


def test_finalizing_freezes_the_lines(api):
    invoice_id = create_invoice(api, CustomerFactory()).json()["id"]
    transition(api, invoice_id, "finalize")

    response = api.patch(
        f"{BASE}/invoices/{invoice_id}", {"lines": [a_line("1.00")]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["current_status"] == "open"


# --- the status machine ---------------------------------------------------------------------

STATUSES = [s.value for s in InvoiceStatus]
ACTIONS = ["finalize", "void", "mark-uncollectible", "pay", "edit", "delete"]
# (from, action) -> the status after it; None: the invoice is gone.
ALLOWED = {
    ("draft", "finalize"): "open",
    ("draft", "edit"): "draft",
    ("draft", "delete"): None,
    ("open", "void"): "void",
    ("open", "mark-uncollectible"): "uncollectible",
    ("open", "pay"): "paid",
    ("uncollectible", "pay"): "paid",
    ("uncollectible", "void"): "void",
}
REFUSED = [(s, a) for s in STATUSES for a in ACTIONS if (s, a) not in ALLOWED]


def _act(api, invoice, action: str):
    if action == "pay":
        return pay(api, invoice.pk, invoice.amount)
    if action == "edit":
        due = (timezone.now() + timedelta(days=3)).isoformat()
        return api.patch(f"{BASE}/invoices/{invoice.pk}", {"due_date": due}, format="json")
    if action == "delete":
        return api.delete(f"{BASE}/invoices/{invoice.pk}")
    return transition(api, invoice.pk, action)


@pytest.mark.parametrize(("status", "action"), sorted(ALLOWED), ids="{0[0]}-{0[1]}".format)
def test_allowed_transition(api, status, action):
    invoice = invoice_with_lines(status=status)

    response = _act(api, invoice, action)

    assert response.status_code in (200, 201, 204), response.content
    after = Invoice.objects.filter(pk=invoice.pk).values_list("status", flat=True).first()
    assert after == ALLOWED[(status, action)]


@pytest.mark.parametrize(("status", "action"), REFUSED, ids="{0[0]}-{0[1]}".format)
def test_refused_transition_is_a_409_naming_the_current_status(api, status, action):
    invoice = invoice_with_lines(status=status)

    response = _act(api, invoice, action)

    assert response.status_code == 409, response.content
    assert response.json()["current_status"] == status
    assert status in response.json()["detail"]
    assert Invoice.objects.get(pk=invoice.pk).status == status


@pytest.mark.parametrize(
    ("status", "action", "stamp", "audit_action"),
    [
        ("draft", "finalize", "finalized", AuditAction.INVOICE_FINALIZED),
        ("open", "void", "voided", AuditAction.INVOICE_VOIDED),
        ("open", "mark-uncollectible", "uncollectible", AuditAction.INVOICE_MARKED_UNCOLLECTIBLE),
        ("open", "pay", "paid", AuditAction.INVOICE_PAID),
    ],
)
def test_each_transition_records_time_actor_and_an_audit_event(
    api, manager, status, action, stamp, audit_action
):
    invoice = invoice_with_lines(status=status)

    _act(api, invoice, action)

    invoice.refresh_from_db()
    assert getattr(invoice, f"{stamp}_at") is not None
    assert getattr(invoice, f"{stamp}_by") == manager
    event = AuditEvent.objects.get(action=audit_action, target_id=str(invoice.pk))
    assert event.actor == manager
    assert event.before["status"] == status


def test_past_due_filter_lists_open_invoices_whose_due_date_passed(api):
    overdue = invoice_with_lines(
        status=InvoiceStatus.OPEN, due_date=timezone.now() - timedelta(days=1)
    )
    invoice_with_lines(status=InvoiceStatus.OPEN)  # not yet due
    invoice_with_lines(
        status=InvoiceStatus.UNCOLLECTIBLE, due_date=timezone.now() - timedelta(days=9)
    )

    response = api.get(f"{BASE}/invoices?past_due=true")

    assert [row["id"] for row in response.json()["results"]] == [str(overdue.pk)]


def test_listing_by_status_and_customer(api):
    customer = CustomerFactory()
    mine = invoice_with_lines(status=InvoiceStatus.OPEN, customer=customer)
    invoice_with_lines(status=InvoiceStatus.OPEN)
    invoice_with_lines(status=InvoiceStatus.DRAFT, customer=customer)

    response = api.get(f"{BASE}/invoices?status=open&customer={customer.pk}")

    assert [row["id"] for row in response.json()["results"]] == [str(mine.pk)]
    assert status_of(api, mine.pk) == "open"


def test_a_bad_filter_value_is_a_400_naming_it(api):
    response = api.get(f"{BASE}/invoices?status=sent")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"
