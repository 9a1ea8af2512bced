"""The demo's billing: products on sale, and customers whose invoices are in every state.

Every row is written by the billing services, as staff would write it, so the demo obeys the
real rules (numbering, frozen lines, no overpayment, audit). The services stamp the present:
invoices are issued, finalized and paid today; only due dates lie in the past or the future,
which is what makes some invoices past due.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from billing.models import (
    CreditNote,
    CreditNoteLine,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Product,
    Refund,
)
from billing.services import credit_notes, customers, invoices, payments, products, sending
from billing.services.credit_notes import CreditLineInput
from billing.services.invoices import LineInput, to_cents
from core.context import SYSTEM
from core.demo import DemoSummary, demo_rng


@dataclass(frozen=True)
class DemoProduct:
    name: str
    description: str
    price: Decimal
    active: bool = True


PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct("Team plan (monthly)", "Up to 10 seats, billed monthly.", Decimal("49.00")),
    DemoProduct("Business plan (monthly)", "Unlimited seats and SSO.", Decimal("199.00")),
    DemoProduct("Onboarding workshop", "Half a day, on site or remote.", Decimal("750.00")),
    DemoProduct("Priority support (annual)", "Four-hour response, all year.", Decimal("1200.00")),
    DemoProduct("Extra storage, 100 GB", "Added to any plan.", Decimal("9.50")),
    # Kept so old invoices still make sense; no longer sold.
    DemoProduct("Starter plan (legacy)", "Replaced by the Team plan.", Decimal("19.00"), False),
)


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    email: str
    phone: str
    address: str


CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        "Northwind Traders",
        "accounts@northwind.example",
        "+1 555 0100 210",
        "12 Harbor Road\nSeattle, WA 98101",
    ),
    DemoCustomer(
        "Bluebird Bakery", "hello@bluebird.example", "+44 20 7946 0321", "4 Mill Lane\nBath BA1 1AA"
    ),
    DemoCustomer(
        "Kestrel Logistics",
        "finance@kestrel.example",
        "+49 30 901820",
        "Lagerstraße 7\n10115 Berlin",
    ),
    DemoCustomer(
        "Marigold Dental Clinic",
        "office@marigold.example",
        "+1 555 0100 877",
        "300 Elm Street, Suite 2\nPortland, OR 97205",
    ),
    DemoCustomer(
        "Orbit Robotics",
        "ap@orbit.example",
        "+33 1 70 18 99 00",
        "18 rue des Ateliers\n69002 Lyon",
    ),
)


@dataclass(frozen=True)
class InvoicePlan:
    status: InvoiceStatus
    due_in_days: int  # negative: the due date has passed
    partly_paid: bool = False
    # Half of the first line credited after finalization (a credit note).
    credited: bool = False


# Dealt round-robin to the customers: customer i gets plans i, i + 5, i + 10.
INVOICE_PLANS: tuple[InvoicePlan, ...] = (
    InvoicePlan(InvoiceStatus.PAID, -40),
    InvoicePlan(InvoiceStatus.OPEN, -10),
    InvoicePlan(InvoiceStatus.PAID, -20),
    InvoicePlan(InvoiceStatus.DRAFT, 30),
    InvoicePlan(InvoiceStatus.OPEN, -25, partly_paid=True),
    InvoicePlan(InvoiceStatus.OPEN, 14, credited=True),
    InvoicePlan(InvoiceStatus.PAID, -5),
    InvoicePlan(InvoiceStatus.VOID, -30),
    InvoicePlan(InvoiceStatus.UNCOLLECTIBLE, -90),
    InvoicePlan(InvoiceStatus.PAID, -60),
    InvoicePlan(InvoiceStatus.DRAFT, 45),
    InvoicePlan(InvoiceStatus.OPEN, 7),
)


@dataclass(frozen=True)
class _PlannedPayment:
    amount: Decimal
    # REFUNDED: recorded as succeeded, then refunded in full.
    status: PaymentStatus
    provider: str
    metadata: dict


@dataclass(frozen=True)
class _PlannedInvoice:
    plan: InvoicePlan
    lines: list[tuple[DemoProduct, Decimal]]  # (product, quantity)
    payments: list[_PlannedPayment]


def _invoice_lines(*, rng: random.Random) -> list[tuple[DemoProduct, Decimal]]:
    """A few products on sale times a number of seats."""
    on_sale = [p for p in PRODUCTS if p.active]
    return [
        (product, Decimal(rng.randint(1, 5)))
        for product in rng.sample(on_sale, k=rng.randint(1, 3))
    ]


def _payment_history(
    *, rng: random.Random, amount: Decimal, plan: InvoicePlan
) -> list[tuple[Decimal, PaymentStatus, dict]]:
    """(amount, status, metadata) of the payments that explain the invoice's status, oldest
    first."""
    if plan.status == InvoiceStatus.PAID:
        history = []
        if rng.random() < 0.3:
            history.append((amount, PaymentStatus.FAILED, {"reason": "card_declined"}))
        # Some customers pay in two instalments; succeeded payments always cover the amount.
        first = to_cents(amount * Decimal(rng.uniform(0.3, 0.7)))
        instalments = [first, amount - first] if rng.random() < 0.5 else [amount]
        return history + [(part, PaymentStatus.SUCCEEDED, {}) for part in instalments]
    if plan.partly_paid:
        return [(to_cents(amount * Decimal("0.4")), PaymentStatus.SUCCEEDED, {})]
    if plan.status == InvoiceStatus.UNCOLLECTIBLE:
        return [(amount, PaymentStatus.FAILED, {"reason": "insufficient_funds"})]
    if plan.status == InvoiceStatus.VOID:
        # Billed in error after the customer had paid: refunded in full, then voided.
        return [(amount, PaymentStatus.REFUNDED, {"reason": "billed_in_error"})]
    return []


def _plan_invoices(*, index: int, spec: DemoCustomer) -> list[_PlannedInvoice]:
    """What the customer's aggregate holds, drawn without writing (a dry run counts it)."""
    rng = demo_rng(f"customer:{spec.email}")
    planned = []
    for plan in INVOICE_PLANS[index :: len(CUSTOMERS)]:
        lines = _invoice_lines(rng=rng)
        amount = sum((to_cents(p.price * quantity) for p, quantity in lines), Decimal("0"))
        history = [
            _PlannedPayment(part, status, rng.choice(PaymentProvider.values), metadata)
            for part, status, metadata in _payment_history(rng=rng, amount=amount, plan=plan)
        ]
        planned.append(_PlannedInvoice(plan, lines, history))
    return planned


def _first_line_credit(product: DemoProduct, quantity: Decimal) -> Decimal:
    return to_cents(product.price * quantity / 2)


def _write_invoice(
    *, customer: Customer, planned: _PlannedInvoice, sold: dict[str, Product], now: datetime
) -> None:
    """The invoice through the steps staff would take to bring it where its plan says."""
    # Nobody in particular: the demo, like a command, acts as the system.
    acting: dict[str, Any] = {"actor": None, "context": SYSTEM}
    invoice = invoices.invoice_create(
        customer=customer,
        due_date=now + timedelta(days=planned.plan.due_in_days),
        lines=[LineInput(quantity=q, product=sold[p.name]) for p, q in planned.lines],
        **acting,
    )
    if planned.plan.status == InvoiceStatus.DRAFT:
        return
    invoices.invoice_finalize(invoice=invoice, **acting)
    # Emailed to the customer as staff would (make demo's worker sends it, to the console).
    sending.invoice_send(invoice=invoice, **acting)
    if planned.plan.credited:
        product, quantity = planned.lines[0]
        credit_notes.credit_note_issue(
            invoice=invoice,
            reason="One seat returned unused",
            lines=[CreditLineInput(line=1, amount=_first_line_credit(product, quantity))],
            **acting,
        )
    for step in planned.payments:
        refunded = step.status == PaymentStatus.REFUNDED
        payment = payments.payment_record(
            invoice=invoice,
            amount=step.amount,
            provider=step.provider,
            status=PaymentStatus.SUCCEEDED if refunded else step.status,
            metadata=step.metadata,
            **acting,
        )
        if refunded:
            payments.payment_refund(payment=payment, reason="Billed in error", **acting)
    if planned.plan.status == InvoiceStatus.VOID:
        invoices.invoice_void(invoice=invoice, **acting)
    elif planned.plan.status == InvoiceStatus.UNCOLLECTIBLE:
        invoices.invoice_mark_uncollectible(invoice=invoice, **acting)


def _seed_customer(*, index: int, spec: DemoCustomer, now: datetime, summary: DemoSummary) -> None:
    planned = _plan_invoices(index=index, spec=spec)
    summary.add(Customer)
    summary.add(Invoice, len(planned))
    summary.add(InvoiceLine, sum(len(p.lines) for p in planned))
    summary.add(Payment, sum(len(p.payments) for p in planned))
    summary.add(
        Refund,
        sum(1 for p in planned for step in p.payments if step.status == PaymentStatus.REFUNDED),
    )
    credited = sum(1 for p in planned if p.plan.credited)
    summary.add(CreditNote, credited)
    summary.add(CreditNoteLine, credited)
    if summary.dry_run:
        return
    customer = customers.customer_create(
        name=spec.name,
        email=spec.email,
        phone=spec.phone,
        address=spec.address,
        actor=None,
        context=SYSTEM,
    )
    sold = {p.name: p for p in Product.objects.filter(name__in=[s.name for s in PRODUCTS])}
    for invoice in planned:
        _write_invoice(customer=customer, planned=invoice, sold=sold, now=now)


def seed_billing(*, now: datetime, summary: DemoSummary) -> None:
    """Each product (by name) and each customer with its invoices (by email) is made once;
    with ``summary.dry_run`` nothing is written, only counted. Each service call is its own
    transaction, so a failure midway leaves the customers made so far."""
    for product in PRODUCTS:
        if not Product.all_objects.filter(name=product.name).exists():
            summary.add(Product)
            if not summary.dry_run:
                products.product_create(
                    name=product.name,
                    description=product.description,
                    price=product.price,
                    active=product.active,
                    actor=None,
                    context=SYSTEM,
                )
    for index, spec in enumerate(CUSTOMERS):
        if not Customer.all_objects.filter(email=spec.email).exists():
            _seed_customer(index=index, spec=spec, now=now, summary=summary)
