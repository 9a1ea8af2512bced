"""The demo's billing: products on sale, and customers whose invoices are in every state."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from billing.models import (
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
from billing.services import CLOSINGS, invoice_number_allocate
from core.demo import DemoSummary, demo_rng

_CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


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


# Dealt round-robin to the customers: customer i gets plans i, i + 5, i + 10.
INVOICE_PLANS: tuple[InvoicePlan, ...] = (
    InvoicePlan(InvoiceStatus.PAID, -40),
    InvoicePlan(InvoiceStatus.OPEN, -10),
    InvoicePlan(InvoiceStatus.PAID, -20),
    InvoicePlan(InvoiceStatus.DRAFT, 30),
    InvoicePlan(InvoiceStatus.OPEN, -25, partly_paid=True),
    InvoicePlan(InvoiceStatus.OPEN, 14),
    InvoicePlan(InvoiceStatus.PAID, -5),
    InvoicePlan(InvoiceStatus.VOID, -30),
    InvoicePlan(InvoiceStatus.UNCOLLECTIBLE, -90),
    InvoicePlan(InvoiceStatus.PAID, -60),
    InvoicePlan(InvoiceStatus.DRAFT, 45),
    InvoicePlan(InvoiceStatus.OPEN, 7),
)


def _invoice_lines(*, rng: random.Random) -> list[InvoiceLine]:
    """A few products on sale times a number of seats."""
    on_sale = [p for p in PRODUCTS if p.active]
    lines = []
    for position, product in enumerate(rng.sample(on_sale, k=rng.randint(1, 3)), start=1):
        quantity = Decimal(rng.randint(1, 5))
        lines.append(
            InvoiceLine(
                position=position,
                description=product.name,
                quantity=quantity,
                unit_price=product.price,
                total=_money(product.price * quantity),
            )
        )
    return lines


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
        first = _money(amount * Decimal(rng.uniform(0.3, 0.7)))
        instalments = [first, amount - first] if rng.random() < 0.5 else [amount]
        return history + [(part, PaymentStatus.SUCCEEDED, {}) for part in instalments]
    if plan.partly_paid:
        return [(_money(amount * Decimal("0.4")), PaymentStatus.SUCCEEDED, {})]
    if plan.status == InvoiceStatus.UNCOLLECTIBLE:
        return [(amount, PaymentStatus.FAILED, {"reason": "insufficient_funds"})]
    if plan.status == InvoiceStatus.VOID:
        # Billed in error after the customer had paid: refunded in full, then voided.
        return [(amount, PaymentStatus.REFUNDED, {"reason": "billed_in_error"})]
    return []


def _closing_stamp(status: InvoiceStatus, at: datetime) -> dict[str, datetime]:
    """The ``<stamp>_at`` column recording how an invoice left ``open``, if it did."""
    if status == InvoiceStatus.PAID:
        return {"paid_at": at}
    closing = CLOSINGS.get(status)
    return {f"{closing.stamp}_at": at} if closing else {}


def _seed_customer(*, index: int, spec: DemoCustomer, now: datetime, summary: DemoSummary) -> None:
    rng = demo_rng(f"customer:{spec.email}")
    customer = Customer.objects.create(
        name=spec.name, email=spec.email, phone=spec.phone, address=spec.address
    )
    summary.add(Customer)
    for plan in INVOICE_PLANS[index :: len(CUSTOMERS)]:
        due = now + timedelta(days=plan.due_in_days)
        # Issued a month before it falls due, but never in the future.
        issued = min(due - timedelta(days=30), now - timedelta(days=1))
        lines = _invoice_lines(rng=rng)
        # Lines freeze once an invoice leaves draft (a trigger holds it), so the invoice is
        # written as a draft with its lines first and then given its final status.
        invoice = Invoice.objects.create(
            customer=customer,
            amount=sum((line.total for line in lines), Decimal("0")),
            status=InvoiceStatus.DRAFT,
            due_date=due,
            created_at=issued,
            updated_at=issued,
        )
        for line in lines:
            line.invoice = invoice
        InvoiceLine.objects.bulk_create(lines)
        summary.add(InvoiceLine, len(lines))
        history = _payment_history(rng=rng, amount=invoice.amount, plan=plan)
        # Paid between issue and a week after the due date, and never in the future.
        last = min(due + timedelta(days=7), now - timedelta(hours=1))
        paid_at = sorted(issued + (last - issued) * rng.random() for _ in history)
        closed_at = paid_at[-1] if plan.status == InvoiceStatus.PAID else min(due, now)
        if plan.status != InvoiceStatus.DRAFT:
            Invoice.objects.filter(pk=invoice.pk).update(
                status=plan.status,
                number=invoice_number_allocate(year=issued.year),
                finalized_at=issued,
                **_closing_stamp(plan.status, closed_at),
            )
        payments = Payment.objects.bulk_create(
            Payment(
                invoice=invoice,
                amount=amount,
                status=status,
                provider=rng.choice(PaymentProvider.values),
                metadata=metadata,
                created_at=created_at,
                refunded_amount=amount if status == PaymentStatus.REFUNDED else Decimal("0"),
            )
            for (amount, status, metadata), created_at in zip(history, paid_at, strict=True)
        )
        refunds = Refund.objects.bulk_create(
            Refund(payment=p, amount=p.amount, reason="Billed in error", created_at=closed_at)
            for p in payments
            if p.status == PaymentStatus.REFUNDED
        )
        summary.add(Refund, len(refunds))
        summary.add(Invoice)
        summary.add(Payment, len(history))


def seed_billing(*, now: datetime, summary: DemoSummary) -> None:
    for spec in PRODUCTS:
        if not Product.all_objects.filter(name=spec.name).exists():
            Product.objects.create(
                name=spec.name, description=spec.description, price=spec.price, active=spec.active
            )
            summary.add(Product)
    for index, spec in enumerate(CUSTOMERS):
        if not Customer.all_objects.filter(email=spec.email).exists():
            _seed_customer(index=index, spec=spec, now=now, summary=summary)
