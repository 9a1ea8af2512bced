"""Customers we invoice. Each change is audited: invoices go to these addresses."""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from accounts.models import User
from billing.models import Customer
from core import audit
from core.context import ActionContext
from core.db import save_changes
from core.exceptions import ValidationFailed
from core.models import AuditAction
from core.services.idempotency import idempotent_write

T = TypeVar("T")

# What the audit trail keeps of a customer.
_AUDITED = ("name", "email", "phone", "address")


def require_email(email: str, *, customer: Customer | None = None) -> None:
    """A valid address no other live customer has (``customer`` being the one edited), or
    ValidationFailed naming ``email``. Writes nothing, so a form may ask it first."""
    # Invoices are sent there; the database only knows it is text.
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed(fields={"email": ["Enter a valid email address."]}) from None
    # One live customer per address (whatever its case): a second would split one payer's
    # invoices and balance in two. The database holds it too (billing_customer_email_unique).
    others = Customer.objects.filter(email__iexact=email)
    if customer is not None:
        others = others.exclude(pk=customer.pk)
    if others.exists():
        raise _email_taken()


def _email_taken() -> ValidationFailed:
    return ValidationFailed(
        "Another customer has this address.",
        fields={"email": ["A customer with this email address exists; edit that one instead."]},
    )


def _saved(write: Callable[[], T]) -> T:
    """Runs ``write`` in a savepoint, turning a concurrent claim of the address into the
    same refusal as the check before it."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError as error:
        if "billing_customer_email_unique" in str(error):
            raise _email_taken() from None
        raise


def _state(customer: Customer, names: Iterable[str] = _AUDITED) -> dict[str, Any]:
    return {name: getattr(customer, name) for name in names}


@idempotent_write
def customer_create(
    *,
    name: str,
    email: str,
    phone: str | None = None,
    address: str | None = None,
    actor: User | None,
    context: ActionContext,
) -> Customer:
    require_email(email)
    customer = _saved(
        lambda: Customer.objects.create(name=name, email=email, phone=phone, address=address)
    )
    audit.record(
        action=AuditAction.CUSTOMER_CREATED,
        actor=actor,
        target=customer,
        after=_state(customer),
        context=context,
    )
    return customer


@transaction.atomic(durable=True)
def customer_update(
    *, customer: Customer, actor: User | None, context: ActionContext, **fields: Any
) -> Customer:
    # Compared with the row as stored: the admin hands in an instance its form already edited.
    stored = Customer.all_objects.select_for_update().get(pk=customer.pk)
    changes = {name: value for name, value in fields.items() if getattr(stored, name) != value}
    if not changes:
        return customer
    if "email" in changes:
        require_email(changes["email"], customer=customer)
    before = _state(stored, changes)
    _saved(lambda: save_changes(customer, changes))
    audit.record(
        action=AuditAction.CUSTOMER_UPDATED,
        actor=actor,
        target=customer,
        before=before,
        after=_state(customer, changes),
        context=context,
    )
    return customer


@transaction.atomic(durable=True)
def customer_delete(*, customer: Customer, actor: User | None, context: ActionContext) -> None:
    """Soft delete: the customer's invoices keep pointing at it; it gets no new ones."""
    if Customer.objects.filter(pk=customer.pk).soft_delete():
        audit.record(
            action=AuditAction.CUSTOMER_DELETED,
            actor=actor,
            target=customer,
            before=_state(customer),
            context=context,
        )


@transaction.atomic(durable=True)
def customer_restore(*, customer: Customer, actor: User | None, context: ActionContext) -> bool:
    """Brings a deleted customer back, unless a live one has taken its address meanwhile;
    False when it was not deleted."""
    customer = Customer.all_objects.select_for_update().get(pk=customer.pk)
    if customer.deleted_at is None:
        return False
    require_email(customer.email, customer=customer)
    _saved(lambda: Customer.all_objects.filter(pk=customer.pk).restore())
    audit.record(
        action=AuditAction.CUSTOMER_RESTORED,
        actor=actor,
        target=customer,
        after=_state(customer),
        context=context,
    )
    return True
