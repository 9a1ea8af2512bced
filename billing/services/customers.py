"""Customers we invoice. They are not audited: they hold contact details, not money."""

from typing import Any

from django.db import transaction

from billing.models import Customer
from core.db import save_changes


@transaction.atomic(durable=True)
def customer_create(
    *, name: str, email: str, phone: str | None = None, address: str | None = None
) -> Customer:
    return Customer.objects.create(name=name, email=email, phone=phone, address=address)


@transaction.atomic(durable=True)
def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    return save_changes(customer, fields)


@transaction.atomic(durable=True)
def customer_delete(*, customer: Customer) -> None:
    """Soft delete: the customer's invoices keep pointing at it; it gets no new ones."""
    Customer.objects.filter(pk=customer.pk).soft_delete()
