from decimal import Decimal

from django.db import models

from core.db import SoftDeleteModel, TimestampedModel, UUIDModel, timestamp_field


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=10, decimal_places=2, **kwargs)


class Customer(TimestampedModel, SoftDeleteModel):
    """Someone we invoice (table ``customers``)."""

    name = models.CharField(max_length=255)
    email = models.EmailField(max_length=255)
    phone = models.CharField(max_length=50, null=True, blank=True)
    address = models.TextField(null=True, blank=True)

    class Meta(SoftDeleteModel.Meta):
        db_table = "customers"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="%(app_label)s_%(class)s_name_not_empty",
                violation_error_message="A customer needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(TimestampedModel, SoftDeleteModel):
    """Something we sell at a price (table ``products``)."""

    name = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    price = money_field()
    active = models.BooleanField(null=True, default=True, db_default=True)

    class Meta(SoftDeleteModel.Meta):
        db_table = "products"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=Decimal("0")),
                name="%(app_label)s_%(class)s_price_not_negative",
                violation_error_message="A price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="%(app_label)s_%(class)s_name_not_empty",
                violation_error_message="A product needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class Invoice(TimestampedModel):
    """A bill sent to a customer (table ``invoices``)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    amount = money_field()
    status = models.CharField(
        max_length=50, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    due_date = models.DateTimeField()

    class Meta:
        db_table = "invoices"
        ordering = ["-created_at"]
        indexes = [
            # Past-due lists: open invoices by due date.
            models.Index(fields=["status", "due_date"], name="invoices_status_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=Decimal("0")),
                name="%(app_label)s_%(class)s_amount_not_negative",
                violation_error_message="An invoice amount cannot be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=InvoiceStatus.values),
                name="%(app_label)s_%(class)s_status_valid",
                violation_error_message="Unknown invoice status.",
            ),
        ]

    def __str__(self) -> str:
        return f"invoice {self.pk} ({self.status})"


class PaymentStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


class PaymentProvider(models.TextChoices):
    MANUAL = "manual"
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"


class Payment(UUIDModel):
    """Money received (or attempted) against an invoice (table ``payments``)."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    amount = money_field()
    status = models.CharField(max_length=50, choices=PaymentStatus.choices)
    # Providers are open-ended (PRODUCT.md lists examples), so no check on the value set.
    provider = models.CharField(max_length=50, choices=PaymentProvider.choices)
    metadata = models.JSONField(null=True, default=dict, db_default={}, blank=True)
    created_at = timestamp_field()

    class Meta:
        db_table = "payments"
        ordering = ["-created_at"]
        indexes = [
            # An invoice's payments, newest first; also the index on invoice_id.
            models.Index(fields=["invoice", "-created_at"], name="payments_invoice_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=Decimal("0")),
                name="%(app_label)s_%(class)s_amount_positive",
                violation_error_message="A payment amount must be more than zero.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PaymentStatus.values),
                name="%(app_label)s_%(class)s_status_valid",
                violation_error_message="Unknown payment status.",
            ),
            models.CheckConstraint(
                condition=~models.Q(provider=""),
                name="%(app_label)s_%(class)s_provider_not_empty",
                violation_error_message="A payment needs a provider.",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} of {self.amount}"
