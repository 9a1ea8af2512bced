"""A customer's statement: the opening balance, every movement of their account in order with
the running balance, and the closing balance, in figures that agree with the reports."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing import selectors
from billing.models import Invoice, InvoiceStatus, Payment, Refund
from billing.services import credit_notes, customers, invoices, payments
from billing.services.invoices import LineInput
from core.context import SYSTEM
from core.exceptions import DomainError
from tests.api_matrix import api_key
from tests.billing.steps import BASE
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def finalized(customer, amount: str) -> Invoice:
    """An open invoice of one line, finalized by the service (number, PDF, finalized_at)."""
    draft = invoices.invoice_create(
        customer=customer,
        due_date=timezone.now() + timedelta(days=30),
        lines=[LineInput(quantity=Decimal("1"), description="Work", unit_price=Decimal(amount))],
        actor=None,
        context=SYSTEM,
    )
    return invoices.invoice_finalize(invoice=draft, actor=None, context=SYSTEM)


def now_in_order(model, row):
    """The database stamps payments and refunds with its transaction's start, which a test's
    one transaction shares: stamp this one with the time it was made, as its own request
    would have."""
    model.objects.filter(pk=row.pk).update(created_at=timezone.now())
    return row


def pay(invoice: Invoice, amount: str) -> Payment:
    payment = payments.payment_record(
        invoice=invoice, amount=Decimal(amount), provider="manual", actor=None, context=SYSTEM
    )
    return now_in_order(Payment, payment)


def credit(invoice: Invoice, amount: str):
    return credit_notes.credit_note_issue(
        invoice=invoice, amount=Decimal(amount), reason="Goodwill", actor=None, context=SYSTEM
    )


def statement(api, customer, **query):
    return api.get(f"{BASE}/customers/{customer.pk}/statement", query)


def test_each_movement_is_listed_in_order_with_its_running_balance(api):
    customer = CustomerFactory(name="Acme")
    part_credited = finalized(customer, "100.00")
    first_payment = pay(part_credited, "40.00")
    part_note = credit(part_credited, "30.00")
    # A paid invoice credited afterwards: the credit gives back what was paid beyond what is
    # now owed, as a refund of the payment in the same transaction.
    paid = finalized(customer, "50.00")
    full_payment = pay(paid, "50.00")
    paid_note = credit(paid, "20.00")
    now_in_order(Refund, Refund.objects.get(payment=full_payment))
    # An open invoice credited in full: nothing is left to pay, and it is settled.
    wholly_credited = finalized(customer, "80.00")
    whole_note = credit(wholly_credited, "80.00")
    # Voided after a part payment: the payment stays the customer's.
    voided = finalized(customer, "60.00")
    pay(voided, "10.00")
    invoices.invoice_void(invoice=voided, actor=None, context=SYSTEM)
    finalized(CustomerFactory(), "70.00")  # another customer's, never on this statement

    body = statement(api, customer).json()

    assert [(e["kind"], e["reference"], e["amount"], e["balance"]) for e in body["entries"]] == [
        ("invoice", part_credited.number, "100.00", "100.00"),
        ("payment", str(first_payment.pk), "-40.00", "60.00"),
        ("credit_note", part_note.number, "-30.00", "30.00"),
        ("invoice", paid.number, "50.00", "80.00"),
        ("payment", str(full_payment.pk), "-50.00", "30.00"),
        ("credit_note", paid_note.number, "-20.00", "10.00"),
        ("refund", str(full_payment.pk), "20.00", "30.00"),
        ("invoice", wholly_credited.number, "80.00", "110.00"),
        ("credit_note", whole_note.number, "-80.00", "30.00"),
        ("invoice", voided.number, "60.00", "90.00"),
        ("payment", str(voided.payments.get().pk), "-10.00", "80.00"),
        ("void", voided.number, "-60.00", "20.00"),
    ]
    assert {e["invoice"] for e in body["entries"]} == {
        part_credited.number,
        paid.number,
        wholly_credited.number,
        voided.number,
    }
    assert body["opening_balance"] == "0.00"
    # 30 still owed on the part-credited invoice, 10 paid on the void one to give back.
    assert body["closing_balance"] == "20.00"
    assert Invoice.objects.get(pk=wholly_credited.pk).status == InvoiceStatus.PAID
    report = api.get(f"{BASE}/reports/outstanding").json()
    assert [(r["outstanding"], r["credited"]) for r in report if r["customer_name"] == "Acme"] == [
        ("30.00", "30.00")
    ]


def _backdate(invoice: Invoice, when: datetime) -> None:
    Invoice.objects.filter(pk=invoice.pk).update(finalized_at=when)


def test_the_opening_balance_holds_everything_before_from_and_the_closing_adds_the_period(api):
    customer = CustomerFactory()
    old, recent = finalized(customer, "100.00"), finalized(customer, "25.00")
    _backdate(old, datetime(2026, 3, 31, 23, 59, tzinfo=UTC))
    Payment.objects.filter(pk=pay(old, "60.00").pk).update(
        created_at=datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    )
    _backdate(recent, datetime(2026, 4, 30, 23, 59, tzinfo=UTC))

    march = statement(api, customer, **{"from": "2026-03-01", "to": "2026-03-31"}).json()
    april = statement(api, customer, **{"from": "2026-04-01", "to": "2026-04-30"}).json()
    may = statement(api, customer, **{"from": "2026-05-01", "to": "2026-05-31"}).json()

    assert (march["opening_balance"], march["closing_balance"]) == ("0.00", "100.00")
    assert [e["kind"] for e in april["entries"]] == ["payment", "invoice"]
    assert (april["opening_balance"], april["closing_balance"]) == ("100.00", "65.00")
    assert (may["opening_balance"], may["entries"], may["closing_balance"]) == (
        "65.00",
        [],
        "65.00",
    )
    assert (april["from"], april["to"]) == ("2026-04-01", "2026-04-30")


def test_by_default_a_statement_runs_from_the_first_of_the_month_to_today(api):
    customer = CustomerFactory()
    finalized(customer, "10.00")
    today = timezone.now().date()

    body = statement(api, customer).json()

    assert (body["from"], body["to"]) == (today.replace(day=1).isoformat(), today.isoformat())
    assert (body["customer"], body["customer_name"]) == (str(customer.pk), customer.name)
    assert body["closing_balance"] == "10.00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "to"),
        # Only `from` given, after today: the default `to` is today.
        ({"from": (date.today() + timedelta(days=40)).isoformat()}, "from"),
    ],
)
def test_a_bad_or_reversed_period_is_a_400_naming_the_field(api, query, field):
    response = statement(api, CustomerFactory(), **query)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_the_widest_period_is_answered(api):
    customer = CustomerFactory()
    finalized(customer, "10.00")

    body = statement(api, customer, **{"from": "0001-01-01", "to": "9999-12-31"}).json()

    assert (body["opening_balance"], body["closing_balance"]) == ("0.00", "10.00")


def test_a_deleted_customers_statement_is_a_404(api):
    customer = CustomerFactory()
    customers.customer_delete(customer=customer, actor=None, context=SYSTEM)

    assert statement(api, customer).status_code == 404


def test_a_key_that_may_read_customers_but_not_payments_is_refused(manager):
    key = APIClient()
    scopes = ("billing.view_customer", "billing.view_invoice", "billing.view_creditnote")
    key.credentials(HTTP_AUTHORIZATION=api_key(manager, scopes))

    response = statement(key, CustomerFactory())

    assert response.status_code == 403


def test_a_statement_costs_three_queries_however_long(api, django_assert_num_queries):
    customer = CustomerFactory()
    for _ in range(2):
        invoice = finalized(customer, "10.00")
        pay(invoice, "5.00")
        credit(invoice, "1.00")
        # The credential lookup, the customer, the statement.
        with django_assert_num_queries(3):
            response = statement(api, customer)
        assert response.status_code == 200
    assert len(response.json()["entries"]) == 6


# --- statements against the reports, on random accounts ---------------------------------------


class Clock:
    """Times for one invoice's story, moving forward from when it was finalized, never past
    now: the database would otherwise stamp every row of a test with its one transaction's
    start."""

    def __init__(self, rng: random.Random, now: datetime):
        self.rng, self.now = rng, now
        self.at = now - timedelta(days=rng.randint(0, 200), minutes=rng.randint(1, 1440))

    def tick(self) -> datetime:
        self.at = min(self.at + timedelta(hours=self.rng.randint(1, 24 * 20)), self.now)
        return self.at


def _cents(rng: random.Random, most: Decimal) -> Decimal:
    return Decimal(rng.randint(1, int(most * 100))) / 100


def _story(rng: random.Random, invoice: Invoice, clock: Clock) -> None:
    """A few of what can happen to a finalized invoice, at random; what the rules refuse in
    the state reached (a payment on a void invoice, say) just does not happen."""
    for _ in range(rng.randint(0, 5)):
        invoice.refresh_from_db()
        move = rng.choice(["pay", "pay", "credit", "refund", "void", "uncollectible"])
        try:
            if move == "pay":
                remaining = payments.invoice_balance(invoice=invoice).remaining
                amount = remaining if rng.random() < 0.5 else _cents(rng, remaining)
                payment = payments.payment_record(
                    invoice=invoice, amount=amount, provider="card", actor=None, context=SYSTEM
                )
                Payment.objects.filter(pk=payment.pk).update(created_at=clock.tick())
            elif move == "credit":
                left = invoice.amount - invoice.credited_amount
                credit(invoice, str(left if rng.random() < 0.3 else _cents(rng, left)))
            elif move == "refund":
                payment = rng.choice(list(invoice.payments.all()))
                left = payment.amount - payment.refunded_amount
                refund = payments.payment_refund(
                    payment=payment, amount=_cents(rng, left), actor=None, context=SYSTEM
                )
                Refund.objects.filter(pk=refund.pk).update(created_at=clock.tick())
            elif move == "void":
                invoices.invoice_void(invoice=invoice, actor=None, context=SYSTEM)
                Invoice.objects.filter(pk=invoice.pk).update(voided_at=clock.tick())
            else:
                invoices.invoice_mark_uncollectible(invoice=invoice, actor=None, context=SYSTEM)
        except (DomainError, IndexError, ValueError):
            continue  # refused in this state, or nothing to refund


def _random_accounts(seed: int) -> list:
    rng, now = random.Random(seed), timezone.now()  # noqa: S311 (test data, seeded)
    accounts = [CustomerFactory() for _ in range(3)]
    for customer in accounts:
        for _ in range(rng.randint(1, 4)):
            invoice = finalized(customer, str(_cents(rng, Decimal("500.00"))))
            clock = Clock(rng, now)
            Invoice.objects.filter(pk=invoice.pk).update(finalized_at=clock.at)
            _story(rng, invoice, clock)
    return accounts


def _balance_beside_the_report(customer) -> Decimal:
    """What a customer's balance holds beyond their open invoices (all the outstanding report
    counts): uncollectible invoices still owed, and money paid on paid or void invoices beyond
    what they now ask for (credited after payment, or voided), the customer's until refunded."""
    total = Decimal("0.00")
    for invoice in Invoice.objects.filter(customer=customer).exclude(
        status__in=[InvoiceStatus.DRAFT, InvoiceStatus.OPEN]
    ):
        paid = payments.invoice_balance(invoice=invoice).paid
        asked = (
            Decimal("0.00")
            if invoice.status == InvoiceStatus.VOID
            else (invoice.amount - invoice.credited_amount)
        )
        total += asked - paid
    return total


def _sums(entries: list[dict]) -> dict[str, Decimal]:
    sums = dict.fromkeys(["invoice", "credit_note", "payment", "refund", "void"], Decimal(0))
    for entry in entries:
        sums[entry["kind"]] += Decimal(entry["amount"])
    return sums


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_statements_agree_with_the_reports_on_random_accounts(api, seed):
    accounts = _random_accounts(seed)
    today = timezone.now().date()
    # The revenue report's six months, to today.
    index = today.year * 12 + today.month - 1 - 5
    since = date(index // 12, index % 12 + 1, 1)
    whole = {"from": "2000-01-01"}
    period = {"from": since.isoformat()}
    middle = since + timedelta(days=45)

    owed = {row["customer_id"]: row for row in api.get(f"{BASE}/reports/outstanding").json()}
    months = api.get(f"{BASE}/reports/revenue?months=6").json()
    moved = dict.fromkeys(["invoice", "credit_note", "payment", "refund", "void"], Decimal(0))
    grown = open_total = Decimal(0)
    for customer in accounts:
        full = statement(api, customer, **whole).json()
        part = statement(api, customer, **period).json()
        before = statement(api, customer, **{**period, "to": middle.isoformat()}).json()
        after = statement(api, customer, **{"from": (middle + timedelta(days=1)).isoformat()})

        # Every balance is the one before it plus the entry; the last one closes.
        balance = Decimal(full["opening_balance"])
        assert balance == 0
        for entry in full["entries"]:
            balance += Decimal(entry["amount"])
            assert Decimal(entry["balance"]) == balance
        assert Decimal(full["closing_balance"]) == balance
        # Cut anywhere, the parts join up.
        assert part["closing_balance"] == full["closing_balance"]
        assert before["opening_balance"] == part["opening_balance"]
        assert before["closing_balance"] == after.json()["opening_balance"]
        assert after.json()["closing_balance"] == full["closing_balance"]
        # What the customer owes is the outstanding report's figure for them, and the rest.
        open_part = Decimal(owed.get(str(customer.pk), {"outstanding": "0"})["outstanding"])
        beside = _balance_beside_the_report(customer)
        assert Decimal(full["closing_balance"]) == open_part + beside
        open_total += Decimal(full["closing_balance"]) - beside
        for kind, amount in _sums(part["entries"]).items():
            moved[kind] += amount
        grown += Decimal(part["closing_balance"]) - Decimal(part["opening_balance"])

    # Over all customers: the console's outstanding total.
    assert open_total == selectors.outstanding_totals().outstanding

    def column(name: str) -> Decimal:
        return sum((Decimal(month[name]) for month in months), Decimal(0))

    # The statements' movements over the six months are the revenue report's.
    assert (moved["invoice"], -moved["credit_note"], -moved["void"]) == (
        column("invoiced"),
        column("credited"),
        column("voided"),
    )
    assert (-moved["payment"], moved["refund"]) == (column("received"), column("refunded"))
    assert grown == column("billed") - column("net")
    assert len(months) > 1


def test_pending_and_failed_payments_move_nothing_and_a_write_off_stays_owed(api):
    customer = CustomerFactory()
    invoice = finalized(customer, "90.00")
    for status in ("pending", "failed"):
        payments.payment_record(
            invoice=invoice,
            amount=Decimal("10.00"),
            provider="card",
            status=status,
            actor=None,
            context=SYSTEM,
        )
    invoices.invoice_mark_uncollectible(invoice=invoice, actor=None, context=SYSTEM)

    body = statement(api, customer).json()

    # Written off, yet the customer still owes it (and may pay it): only the open invoices
    # are in the outstanding report.
    assert [e["kind"] for e in body["entries"]] == ["invoice"]
    assert body["closing_balance"] == "90.00"
    assert api.get(f"{BASE}/reports/outstanding").json() == []
