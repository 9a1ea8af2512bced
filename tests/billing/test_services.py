"""The billing services' own rules: what they refuse whoever calls them (the API, the admin,
a command, the demo), and how the money writes own their transactions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus, Payment, PaymentStatus
from billing.services import customers, invoices, payments, products
from billing.services.invoices import LineInput
from core.context import SYSTEM
from core.exceptions import ValidationFailed
from core.models import IdempotencyKey
from core.services import idempotency
from core.services.idempotency import Answer
from tests.billing.factories import invoice_with_lines
from tests.factories import CustomerFactory, PaymentFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTING = {"actor": None, "context": SYSTEM}


def _create(lines, customer=None):
    return invoices.invoice_create(
        customer=customer or CustomerFactory(),
        due_date=timezone.now() + timedelta(days=30),
        lines=lines,
        **ACTING,
    )


def _fields(error: pytest.ExceptionInfo) -> set[str]:
    return set(error.value.fields)


def test_a_deactivated_product_is_refused_on_a_new_line_naming_the_line():
    sold, retired = ProductFactory(), ProductFactory(active=False)

    with pytest.raises(ValidationFailed) as error:
        _create([LineInput(quantity=Decimal("1"), product=sold), LineInput(Decimal("1"), retired)])

    assert _fields(error) == {"lines.1.product"}
    assert not Invoice.objects.exists()


def test_a_product_deactivated_after_it_was_sold_stays_on_its_invoice():
    product = ProductFactory(price=Decimal("10.00"))
    invoice = _create([LineInput(quantity=Decimal("2"), product=product)])

    products.product_update(product=product, active=False, **ACTING)

    assert invoice.lines.get().product == product
    with pytest.raises(ValidationFailed) as error:
        invoices.invoice_update(
            invoice=invoice, lines=[LineInput(quantity=Decimal("1"), product=product)], **ACTING
        )
    assert _fields(error) == {"lines.0.product"}


def test_a_deleted_product_is_refused_on_a_new_line():
    product = ProductFactory()
    products.product_delete(product=product, **ACTING)
    product.refresh_from_db()

    with pytest.raises(ValidationFailed) as error:
        _create([LineInput(quantity=Decimal("1"), product=product)])

    assert _fields(error) == {"lines.0.product"}


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (LineInput(quantity=Decimal("0"), description="x", unit_price=Decimal("1")), "quantity"),
        (LineInput(quantity=Decimal("1"), description="x", unit_price=Decimal("-1")), "unit_price"),
    ],
)
def test_line_rules_the_serializer_also_checks_hold_in_the_service(line, field):
    with pytest.raises(ValidationFailed) as error:
        _create([line])

    assert _fields(error) == {f"lines.0.{field}"}


def test_a_deleted_customer_gets_no_new_invoice():
    customer = CustomerFactory()
    customers.customer_delete(customer=customer, **ACTING)
    customer.refresh_from_db()

    with pytest.raises(ValidationFailed) as error:
        _create([], customer=customer)

    assert _fields(error) == {"customer"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("1"), "status": PaymentStatus.REFUNDED}, "status"),
        ({"amount": Decimal("1"), "provider": ""}, "provider"),
    ],
)
def test_payment_rules_hold_in_the_service(kwargs, field):
    invoice = invoice_with_lines(status=InvoiceStatus.OPEN)

    with pytest.raises(ValidationFailed) as error:
        payments.payment_record(invoice=invoice, **{"provider": "manual", **kwargs}, **ACTING)

    assert _fields(error) == {field}
    assert not Payment.objects.exists()


def test_a_refund_of_nothing_is_refused():
    payment = PaymentFactory(invoice=invoice_with_lines(status=InvoiceStatus.OPEN))

    with pytest.raises(ValidationFailed) as error:
        payments.payment_refund(payment=payment, amount=Decimal("0"), **ACTING)

    assert _fields(error) == {"amount"}


def test_a_money_write_is_its_own_transaction_and_refuses_to_nest_in_a_callers():
    invoice = invoice_with_lines(status=InvoiceStatus.OPEN)

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        payments.payment_record(invoice=invoice, amount=Decimal("1"), provider="x", **ACTING)


def _pay_once(user, invoice, key="k", amount="10.00"):
    def write() -> Answer:
        payment = payments.payment_record(
            invoice=invoice, amount=Decimal(amount), provider="manual", actor=user, context=SYSTEM
        )
        return Answer(status=201, body={"id": payment.pk, "amount": payment.amount})

    return idempotency.run_once(
        user=user,
        key=key,
        fingerprint=idempotency.fingerprint(method="POST", path="/pay", body=amount),
        action=write,
    )


def test_run_once_stores_the_answer_with_the_payment_and_replays_it():
    user, invoice = UserFactory(), invoice_with_lines(status=InvoiceStatus.OPEN)

    first = _pay_once(user, invoice)
    again = _pay_once(user, invoice)

    assert (first.replayed, again.replayed) == (False, True)
    assert again.body == first.body == {"id": first.body["id"], "amount": "10.00"}
    assert Payment.objects.count() == 1


def test_run_once_stores_nothing_when_the_write_is_refused():
    user, invoice = UserFactory(), invoice_with_lines(status=InvoiceStatus.VOID)

    with pytest.raises(Exception, match="void"):
        _pay_once(user, invoice)

    assert not IdempotencyKey.objects.exists()


def test_run_once_refuses_a_key_reused_for_another_request():
    user, invoice = UserFactory(), invoice_with_lines(status=InvoiceStatus.OPEN)
    _pay_once(user, invoice, amount="10.00")

    with pytest.raises(ValidationFailed) as error:
        _pay_once(user, invoice, amount="11.00")

    assert _fields(error) == {"Idempotency-Key"}
    assert Payment.objects.count() == 1


def test_a_customer_needs_a_valid_email_address():
    customer = CustomerFactory()

    with pytest.raises(ValidationFailed) as created:
        customers.customer_create(name="Acme", email="not-an-address", **ACTING)
    with pytest.raises(ValidationFailed) as updated:
        customers.customer_update(customer=customer, email="", **ACTING)

    assert _fields(created) == _fields(updated) == {"email"}
