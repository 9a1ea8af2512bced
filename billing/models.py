from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower, Round

from core.db import SoftDeleteModel, TimestampedModel, UUIDModel, timestamp_field

# The contract's DECIMAL(10,2): the largest amount an invoice, line or payment can hold.
MONEY_MAX_DIGITS = 10
MONEY_MAX = Decimal("99999999.99")
# A stored PDF's digest, as the database checks it.
SHA256_HEX = r"^[0-9a-f]{64}$"


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=2, **kwargs)


def _actor_field() -> models.ForeignKey:
    """Who made a transition; PROTECT because the record must keep naming them."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )


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
            # One live customer per address, whatever its case (billing/services/customers.py).
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(deleted_at__isnull=True),
                name="%(app_label)s_%(class)s_email_unique",
                violation_error_message="A customer with this email address exists.",
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
    # Always the sum of the lines: the billing services keep it so and a deferred constraint
    # trigger (migration 0002) checks it at commit. 0 is the total of a draft with no lines.
    amount = money_field(default=Decimal("0.00"))
    status = models.CharField(
        max_length=50, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    due_date = models.DateTimeField()
    # INV-<year>-<000123>, gap-free per year, given when the invoice is finalized.
    number = models.CharField(max_length=32, unique=True, null=True, blank=True, editable=False)
    finalized_at = models.DateTimeField(null=True, blank=True, editable=False)
    finalized_by = _actor_field()
    paid_at = models.DateTimeField(null=True, blank=True, editable=False)
    paid_by = _actor_field()
    voided_at = models.DateTimeField(null=True, blank=True, editable=False)
    voided_by = _actor_field()
    uncollectible_at = models.DateTimeField(null=True, blank=True, editable=False)
    uncollectible_by = _actor_field()
    # SHA-256 (hex) of the PDF rendered and stored at finalization (docs/billing-documents.md);
    # NULL for drafts and for invoices finalized before PDFs existed. Never changes once set
    # (a trigger, migration 0005).
    pdf_sha256 = models.CharField(max_length=64, null=True, blank=True, editable=False)
    # The sum of the invoice's credit notes, kept under the invoice lock beside credit_notes so
    # "never credit more than the invoice" is one check constraint.
    credited_amount = money_field(default=Decimal("0.00"), db_default=Decimal("0.00"))
    # When the last reminder of BILLING_REMINDER_STEPS went out unanswered: from then on
    # reminding is staff's job (the console's dashboard lists these while they stay open).
    dunning_exhausted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "invoices"
        ordering = ["-created_at"]
        permissions = [
            ("finalize_invoice", "Can finalize an invoice"),
            ("void_invoice", "Can void an invoice"),
            ("mark_uncollectible_invoice", "Can mark an invoice uncollectible"),
            ("view_billing_report", "Can view billing reports"),
            ("send_invoice", "Can send an invoice to its customer"),
        ]
        indexes = [
            # Past-due lists: open invoices by due date.
            models.Index(fields=["status", "due_date"], name="invoices_status_due_idx"),
            # A customer's invoices, newest first (lists filtered by customer, the reports).
            models.Index(fields=["customer", "-created_at"], name="invoices_customer_idx"),
            # The staff console's list, newest first, whole or by status (past due is open).
            models.Index(fields=["-created_at", "-id"], name="invoices_newest_idx"),
            models.Index(
                fields=["status", "-created_at", "-id"], name="invoices_status_newest_idx"
            ),
            # The dashboard's open invoices whose reminders ran out, longest waiting first.
            models.Index(
                fields=["dunning_exhausted_at"],
                condition=models.Q(status="open", dunning_exhausted_at__isnull=False),
                name="invoices_dunning_exhausted_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(status=InvoiceStatus.DRAFT, number__isnull=True)
                    | (~models.Q(status=InvoiceStatus.DRAFT) & models.Q(number__isnull=False))
                ),
                name="%(app_label)s_%(class)s_number_iff_finalized",
                violation_error_message="An invoice has a number once finalized, and only then.",
            ),
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
            models.CheckConstraint(
                condition=models.Q(pdf_sha256__isnull=True)
                | (~models.Q(status=InvoiceStatus.DRAFT) & models.Q(pdf_sha256__regex=SHA256_HEX)),
                name="%(app_label)s_%(class)s_pdf_sha256_when_finalized",
                violation_error_message="Only a finalized invoice has a PDF, named by its "
                "SHA-256 in lowercase hex.",
            ),
            models.CheckConstraint(
                condition=models.Q(credited_amount__gte=Decimal("0"))
                & models.Q(credited_amount__lte=models.F("amount")),
                name="%(app_label)s_%(class)s_credit_within_amount",
                violation_error_message="An invoice cannot be credited more than its amount.",
            ),
        ]

    def __str__(self) -> str:
        if self.number:
            return self.number
        # A draft has no number yet: its customer and the day it was started name it.
        started = f" ({self.created_at:%d %b %Y})" if isinstance(self.created_at, datetime) else ""
        return f"Draft for {self.customer}{started}"


class InvoiceLine(UUIDModel):
    """One line of an invoice: quantity times unit price (table ``invoice_lines``)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = money_field()
    # quantity times unit_price rounded half-up to the cent, stored so the invoice total is a SUM.
    total = money_field()
    created_at = timestamp_field()

    class Meta:
        db_table = "invoice_lines"
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"],
                name="%(app_label)s_%(class)s_position_unique",
                violation_error_message="Two lines of one invoice cannot share a position.",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=Decimal("0")),
                name="%(app_label)s_%(class)s_quantity_positive",
                violation_error_message="A quantity must be more than zero.",
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=Decimal("0")),
                name="%(app_label)s_%(class)s_unit_price_not_negative",
                violation_error_message="A unit price cannot be negative.",
            ),
            # PostgreSQL's round(numeric) rounds halves away from zero: ROUND_HALF_UP here.
            models.CheckConstraint(
                condition=models.Q(total=Round(models.F("quantity") * models.F("unit_price"), 2)),
                name="%(app_label)s_%(class)s_total_matches",
                violation_error_message="A line total is its quantity times its unit price.",
            ),
            models.CheckConstraint(
                condition=~models.Q(description=""),
                name="%(app_label)s_%(class)s_description_not_empty",
                violation_error_message="A line needs a description.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.description}"


class InvoiceNumberSequence(models.Model):
    """The last invoice number given in a year (table ``invoice_number_sequences``).

    A PostgreSQL SEQUENCE would leave gaps when a finalization rolls back; this row is
    incremented under its row lock inside the finalizing transaction, so a rollback gives the
    number back and concurrent finalizations queue on the row.
    """

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField()

    class Meta:
        db_table = "invoice_number_sequences"

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class CreditNote(UUIDModel):
    """A correction of a finalized invoice: part or all of it no longer owed (table
    ``credit_notes``). Issued once, with its own number and PDF; never changed or deleted
    (a trigger, migration 0006)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    # CN-<year>-<000123>, gap-free per year, a sequence of its own.
    number = models.CharField(max_length=32, unique=True)
    amount = money_field()
    reason = models.CharField(max_length=500)
    issued_at = models.DateTimeField()
    issued_by = _actor_field()
    # SHA-256 of the PDF rendered and stored when it was issued (docs/billing-documents.md).
    pdf_sha256 = models.CharField(max_length=64)

    class Meta:
        db_table = "credit_notes"
        ordering = ["-issued_at"]
        indexes = [
            # An invoice's credit notes, newest first; also the index on invoice_id.
            models.Index(fields=["invoice", "-issued_at"], name="credit_notes_invoice_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=Decimal("0")),
                name="%(app_label)s_%(class)s_amount_positive",
                violation_error_message="A credit note's amount must be more than zero.",
            ),
            models.CheckConstraint(
                condition=~models.Q(reason=""),
                name="%(app_label)s_%(class)s_reason_not_empty",
                violation_error_message="A credit note needs a reason.",
            ),
            models.CheckConstraint(
                condition=models.Q(pdf_sha256__regex=SHA256_HEX),
                name="%(app_label)s_%(class)s_pdf_sha256_hex",
                violation_error_message="A credit note's PDF is named by its SHA-256 in "
                "lowercase hex.",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(UUIDModel):
    """What one credit note credits: part of an invoice line, or (no line) an amount of the
    invoice as a whole (table ``credit_note_lines``)."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    invoice_line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, null=True, blank=True, related_name="credits"
    )
    description = models.CharField(max_length=500)
    amount = money_field()

    class Meta:
        db_table = "credit_note_lines"
        ordering = ["credit_note", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_note", "position"],
                name="%(app_label)s_%(class)s_position_unique",
                violation_error_message="Two lines of one credit note cannot share a position.",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=Decimal("0")),
                name="%(app_label)s_%(class)s_amount_positive",
                violation_error_message="A credit note line's amount must be more than zero.",
            ),
            models.CheckConstraint(
                condition=~models.Q(description=""),
                name="%(app_label)s_%(class)s_description_not_empty",
                violation_error_message="A credit note line needs a description.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.description}"


class CreditNoteNumberSequence(models.Model):
    """The last credit-note number given in a year (table ``credit_note_number_sequences``),
    kept as InvoiceNumberSequence is, and for the same reason: no gaps."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField()

    class Meta:
        db_table = "credit_note_number_sequences"

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class InvoiceSendStatus(models.TextChoices):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # the last attempt failed; the job retries it with backoff
    SKIPPED = "skipped"  # the invoice was no longer one to send when the job came to it


class InvoiceSend(UUIDModel):
    """One email of an invoice to its customer (table ``invoice_sends``): sent on request
    (staff, the API), or a reminder, one per step of BILLING_REMINDER_STEPS. The row is written
    with the job that sends it, and the job claims it under its row lock, so a job run twice
    sends once (docs/billing-documents.md)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="sends")
    to = models.EmailField(max_length=255)
    # Days from the due date (BILLING_REMINDER_STEPS) for a reminder; NULL for a send.
    reminder_step = models.IntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=20,
        choices=InvoiceSendStatus.choices,
        default=InvoiceSendStatus.QUEUED,
        db_default=InvoiceSendStatus.QUEUED,
    )
    requested_by = _actor_field()
    requested_at = timestamp_field()
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    last_error = models.TextField(blank=True, default="", db_default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "invoice_sends"
        ordering = ["-requested_at"]
        indexes = [
            # An invoice's emails, newest first; also the index on invoice_id.
            models.Index(fields=["invoice", "-requested_at"], name="invoice_sends_invoice_idx"),
            # The admin's list of every send, newest first, and by status (the failed ones).
            models.Index(fields=["-requested_at", "-id"], name="invoice_sends_newest_idx"),
            models.Index(
                fields=["status", "-requested_at", "-id"], name="invoice_sends_status_idx"
            ),
        ]
        constraints = [
            # The last line against a reminder sent twice: one row per invoice and step.
            models.UniqueConstraint(
                fields=["invoice", "reminder_step"],
                condition=models.Q(reminder_step__isnull=False),
                name="%(app_label)s_%(class)s_reminder_once",
                violation_error_message="This reminder of this invoice was already sent.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=InvoiceSendStatus.values),
                name="%(app_label)s_%(class)s_status_valid",
                violation_error_message="Unknown send status.",
            ),
            models.CheckConstraint(
                condition=models.Q(status=InvoiceSendStatus.SENT, sent_at__isnull=False)
                | (~models.Q(status=InvoiceSendStatus.SENT) & models.Q(sent_at__isnull=True)),
                name="%(app_label)s_%(class)s_sent_at_iff_sent",
                violation_error_message="A send has a sent time once sent, and only then.",
            ),
            models.CheckConstraint(
                condition=~models.Q(to=""),
                name="%(app_label)s_%(class)s_to_not_empty",
                violation_error_message="A send needs an address.",
            ),
        ]

    def __str__(self) -> str:
        what = "Invoice" if self.reminder_step is None else f"Reminder ({self.reminder_step:+d} d)"
        return f"{what} to {self.to}"


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
    # Providers are open-ended (docs/product.md §5 lists examples), so no check on the value set.
    provider = models.CharField(max_length=50, choices=PaymentProvider.choices)
    metadata = models.JSONField(null=True, default=dict, db_default={}, blank=True)
    created_at = timestamp_field()
    recorded_by = _actor_field()
    # Sum of this payment's refunds, kept under the invoice lock beside the refunds table so
    # "never refund more than was paid" is one check constraint.
    refunded_amount = money_field(default=Decimal("0.00"), db_default=Decimal("0.00"))

    class Meta:
        db_table = "payments"
        ordering = ["-created_at"]
        permissions = [("refund_payment", "Can refund a payment")]
        indexes = [
            # An invoice's payments, newest first; also the index on invoice_id.
            models.Index(fields=["invoice", "-created_at"], name="payments_invoice_idx"),
            # Revenue by month: an index-only scan over the money that counts.
            models.Index(
                fields=["created_at"],
                include=["amount"],
                condition=models.Q(status__in=["succeeded", "refunded"]),
                name="payments_settled_idx",
            ),
            # The staff console's list, newest first, whole or by status or provider.
            models.Index(fields=["-created_at", "-id"], name="payments_newest_idx"),
            models.Index(
                fields=["status", "-created_at", "-id"], name="payments_status_newest_idx"
            ),
            models.Index(
                fields=["provider", "-created_at", "-id"], name="payments_provider_newest_idx"
            ),
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
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=Decimal("0"))
                & models.Q(refunded_amount__lte=models.F("amount")),
                name="%(app_label)s_%(class)s_refund_within_amount",
                violation_error_message="A payment cannot be refunded more than its amount.",
            ),
        ]

    def __str__(self) -> str:
        when = f" on {self.created_at:%d %b %Y}" if isinstance(self.created_at, datetime) else ""
        return f"{self.get_provider_display()} payment of {self.amount}{when}"


class Refund(UUIDModel):
    """Money given back from a succeeded payment (table ``refunds``)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    reason = models.CharField(max_length=500, blank=True, db_default="", default="")
    created_by = _actor_field()
    created_at = timestamp_field()

    class Meta:
        db_table = "refunds"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=Decimal("0")),
                name="%(app_label)s_%(class)s_amount_positive",
                violation_error_message="A refund amount must be more than zero.",
            ),
        ]

    def __str__(self) -> str:
        when = f" on {self.created_at:%d %b %Y}" if isinstance(self.created_at, datetime) else ""
        return f"Refund of {self.amount}{when}"


class WebhookEvent(UUIDModel):
    """A provider event already processed (table ``webhook_events``): each is applied once."""

    provider = models.CharField(max_length=50)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100, blank=True, db_default="")
    payload = models.JSONField(null=True, blank=True)
    received_at = timestamp_field()

    class Meta:
        db_table = "webhook_events"
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"],
                name="%(app_label)s_%(class)s_once_per_provider",
                violation_error_message="This event was already processed.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"
