"""Shapes of the billing API. Money is a decimal string with two places, never a float."""

from decimal import Decimal

from rest_framework import serializers

from billing.models import (
    MONEY_MAX,
    CreditNote,
    CreditNoteLine,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceSend,
    Payment,
    PaymentStatus,
    Product,
    Refund,
)
from billing.services.credit_notes import CreditLineInput
from billing.services.invoices import LineInput

CENT = Decimal("0.01")


def money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, **kwargs)


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "email", "phone", "address", "created_at", "updated_at"]


class ProductSerializer(serializers.ModelSerializer):
    price = money(min_value=Decimal("0"))
    active = serializers.BooleanField(required=False, default=True)

    class Meta:
        model = Product
        fields = ["id", "name", "description", "price", "active", "created_at", "updated_at"]


class LineInputSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(
        # Whether it is still sold is the invoice service's rule, and its answer.
        queryset=Product.objects.all(),
        required=False,
        allow_null=True,
        help_text="An active product; its name and price fill in what the line leaves out.",
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=False)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))
    unit_price = money(required=False, min_value=Decimal("0"))

    def to_internal_value(self, data) -> LineInput:
        return LineInput(**super().to_internal_value(data))


class InvoiceInput(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    due_date = serializers.DateTimeField()
    # With many=True, DRF hands max_length to the ListSerializer; the stubs' __init__ lacks it.
    lines = LineInputSerializer(many=True, required=False, max_length=500)  # type: ignore[call-arg]


class InvoiceUpdateInput(InvoiceInput):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all(), required=False)
    due_date = serializers.DateTimeField(required=False)


class InvoiceLineOutput(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["position", "product", "description", "quantity", "unit_price", "total"]


class InvoiceOutput(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "customer",
            "customer_name",
            "status",
            "amount",
            "due_date",
            "created_at",
            "updated_at",
            "finalized_at",
            "paid_at",
            "voided_at",
            "uncollectible_at",
        ]


class InvoiceDetailOutput(InvoiceOutput):
    lines = InvoiceLineOutput(many=True, read_only=True)

    class Meta(InvoiceOutput.Meta):
        fields = [
            *InvoiceOutput.Meta.fields,
            "credited_amount",
            "pdf_sha256",
            "dunning_exhausted_at",
            "lines",
        ]


class CreditLineInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, help_text="The invoice line's position.")
    amount = money(
        min_value=CENT,
        required=False,
        help_text="Defaults to all of the line not yet credited.",
    )

    def to_internal_value(self, data) -> CreditLineInput:
        return CreditLineInput(**super().to_internal_value(data))


class CreditNoteInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    amount = money(
        min_value=CENT,
        max_value=MONEY_MAX,
        required=False,
        help_text="An amount of the invoice as a whole; or send `lines` instead.",
    )
    lines = CreditLineInputSerializer(  # type: ignore[call-arg]
        many=True, required=False, min_length=1, max_length=500
    )


class CreditNoteLineOutput(serializers.ModelSerializer):
    invoice_line = serializers.IntegerField(
        source="invoice_line.position", allow_null=True, read_only=True, default=None
    )

    class Meta:
        model = CreditNoteLine
        fields = ["position", "invoice_line", "description", "amount"]


class CreditNoteOutput(serializers.ModelSerializer):
    lines = CreditNoteLineOutput(many=True, read_only=True)

    class Meta:
        model = CreditNote
        fields = ["id", "number", "invoice", "amount", "reason", "issued_at", "pdf_sha256", "lines"]


class HostedLinkOutput(serializers.Serializer):
    url = serializers.URLField(help_text="The hosted invoice page.")
    pdf_url = serializers.URLField(help_text="The invoice's PDF, behind the same signature.")
    expires_at = serializers.DateTimeField()


class InvoiceSendInput(serializers.Serializer):
    to = serializers.EmailField(
        max_length=255, required=False, help_text="Defaults to the customer's email address."
    )


class InvoiceSendOutput(serializers.ModelSerializer):
    class Meta:
        model = InvoiceSend
        fields = [
            "id",
            "invoice",
            "to",
            "reminder_step",
            "status",
            "attempts",
            "last_error",
            "requested_by",
            "requested_at",
            "sent_at",
        ]
        extra_kwargs = {
            "reminder_step": {
                "help_text": "Days from the due date, for a reminder; null for a send."
            },
            "last_error": {"help_text": "Why the last attempt failed, or was skipped."},
        }


class PaymentInput(serializers.Serializer):
    invoice = serializers.PrimaryKeyRelatedField(queryset=Invoice.objects.all())
    amount = money(min_value=CENT, max_value=MONEY_MAX)
    provider = serializers.CharField(max_length=50)
    status = serializers.ChoiceField(
        choices=[PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, PaymentStatus.FAILED],
        default=PaymentStatus.SUCCEEDED,
        help_text="`pending` for a provider that confirms later through its webhook.",
    )
    metadata = serializers.DictField(required=False, default=dict)


class PaymentOutput(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = [
            "id",
            "invoice",
            "amount",
            "refunded_amount",
            "status",
            "provider",
            "metadata",
            "created_at",
        ]


class RefundInput(serializers.Serializer):
    amount = money(
        min_value=CENT, required=False, help_text="Defaults to all that is left to refund."
    )
    reason = serializers.CharField(max_length=500, required=False, default="")


class RefundOutput(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "payment", "amount", "reason", "created_at"]


class MonthlyRevenueOutput(serializers.Serializer):
    month = serializers.DateTimeField()
    received = money()
    refunded = money()
    net = money()


class CustomerBalanceOutput(serializers.Serializer):
    customer_id = serializers.UUIDField()
    customer_name = serializers.CharField()
    open_invoices = serializers.IntegerField()
    outstanding = money()
    past_due = money()


class WebhookOutput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["processed", "ignored", "duplicate"])
