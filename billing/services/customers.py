"""Customers we invoice. They are not audited: they hold contact details, not money."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from billing.models import Customer
from core.db import save_changes
from core.exceptions import ValidationFailed
from core.services.idempotency import idempotent_write


def _require_email(email: str) -> None:
    # Invoices are sent there; the database only knows it is text.
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed(fields={"email": ["Enter a valid email address."]}) from None


@idempotent_write
def customer_create(
    *, name: str, email: str, phone: str | None = None, address: str | None = None
) -> Customer:
    _require_email(email)
    return Customer.objects.create(name=name, email=email, phone=phone, address=address)


@transaction.atomic(durable=True)
def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    if "email" in fields:
        _require_email(fields["email"])
    return save_changes(customer, fields)


@transaction.atomic(durable=True)
def customer_delete(*, customer: Customer) -> None:
    """Soft delete: the customer's invoices keep pointing at it; it gets no new ones."""
    Customer.objects.filter(pk=customer.pk).soft_delete()
