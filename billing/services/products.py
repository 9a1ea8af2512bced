"""Products and their prices. An invoice line copies the price it was sold at, so a change
here changes no invoice; each change is audited all the same (prices are money)."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction

from accounts.models import User
from billing.models import Product
from core import audit
from core.context import ActionContext
from core.db import save_changes
from core.models import AuditAction
from core.services.idempotency import idempotent_write

_AUDITED = ("name", "description", "price", "active")


def _state(product: Product, names: Iterable[str] = _AUDITED) -> dict[str, Any]:
    # Prices as text, as the API shows them (JSON has no decimals).
    return {
        name: str(value) if isinstance(value, Decimal) else value
        for name in names
        for value in [getattr(product, name)]
    }


@idempotent_write
def product_create(
    *,
    name: str,
    price: Decimal,
    description: str | None = None,
    active: bool = True,
    actor: User | None,
    context: ActionContext,
) -> Product:
    product = Product.objects.create(name=name, price=price, description=description, active=active)
    audit.record(
        action=AuditAction.PRODUCT_CREATED,
        actor=actor,
        target=product,
        after=_state(product),
        context=context,
    )
    return product


@transaction.atomic(durable=True)
def product_update(
    *, product: Product, actor: User | None, context: ActionContext, **fields: Any
) -> Product:
    """Changes name, description, price or ``active`` (deactivated products stay on the
    invoices that have them but cannot be put on new lines)."""
    # Compared with the row as stored: the admin hands in an instance its form already edited.
    stored = Product.all_objects.select_for_update().get(pk=product.pk)
    changes = {name: value for name, value in fields.items() if getattr(stored, name) != value}
    if not changes:
        return product
    before = _state(stored, changes)
    save_changes(product, changes)
    audit.record(
        action=AuditAction.PRODUCT_UPDATED,
        actor=actor,
        target=product,
        before=before,
        after=_state(product, changes),
        context=context,
    )
    return product


@transaction.atomic(durable=True)
def product_delete(*, product: Product, actor: User | None, context: ActionContext) -> None:
    if Product.objects.filter(pk=product.pk).soft_delete():
        audit.record(
            action=AuditAction.PRODUCT_DELETED,
            actor=actor,
            target=product,
            before=_state(product),
            context=context,
        )


@transaction.atomic(durable=True)
def product_restore(*, product: Product, actor: User | None, context: ActionContext) -> bool:
    """Brings a deleted product back; False when it was not deleted."""
    if not Product.all_objects.filter(pk=product.pk).restore():
        return False
    audit.record(
        action=AuditAction.PRODUCT_RESTORED,
        actor=actor,
        target=product,
        after=_state(product),
        context=context,
    )
    return True
