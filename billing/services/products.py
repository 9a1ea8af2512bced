"""Products and their prices. Not audited: an invoice line copies the price it was sold at."""

from decimal import Decimal
from typing import Any

from django.db import transaction

from billing.models import Product
from core.db import save_changes
from core.services.idempotency import idempotent_write


@idempotent_write
def product_create(
    *, name: str, price: Decimal, description: str | None = None, active: bool = True
) -> Product:
    return Product.objects.create(name=name, price=price, description=description, active=active)


@transaction.atomic(durable=True)
def product_update(*, product: Product, **fields: Any) -> Product:
    """Changes name, description, price or ``active`` (deactivated products stay on the
    invoices that have them but cannot be put on new lines)."""
    return save_changes(product, fields)


@transaction.atomic(durable=True)
def product_delete(*, product: Product) -> None:
    Product.objects.filter(pk=product.pk).soft_delete()
