"""Shapes of the billing API. Money is a decimal string with two places, never a float."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from billing import selectors
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
from core.api.validation import represented

CENT = Decimal("0.01")


def money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, **kwargs)


def money_total(**kwargs) -> serializers.DecimalField:
    """A sum of amounts (a report's, a balance): two places, but no cap on its digits, as
    many invoices together may exceed what one can hold (and a capped field fails to render
    a larger value)."""
    return serializers.DecimalField(max_digits=None, decimal_places=2, **kwargs)


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
    received = money_total()
    refunded = money_total()
    net = money_total(help_text="Money moved: received less refunded.")
    invoiced = money_total(help_text="Invoices finalized in the month.")
    credited = money_total(help_text="Credit notes issued in the month.")
    voided = money_total(help_text="What voided invoices still asked for after their credits.")
    billed = money_total(
        help_text="Invoiced less credited and voided: what was billed, net of credit notes."
    )


class CustomerBalanceOutput(serializers.Serializer):
    customer_id = serializers.UUIDField()
    customer_name = serializers.CharField()
    open_invoices = serializers.IntegerField()
    outstanding = money_total()
    past_due = money_total()
    credited = money_total(help_text="What credit notes took off these open invoices.")


class WebhookOutput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["processed", "ignored", "duplicate"])


# The representations GET answers with, which the billing events carry (registered in
# BillingConfig.ready()). Read again in the writing transaction: the table's trigger moved
# updated_at, and the lines are not in memory.
def invoice_representation(invoice: Invoice, viewer: Any = None) -> Any:
    return InvoiceDetailOutput(selectors.invoice_detail().get(pk=invoice.pk)).data


def payment_representation(payment: Payment, viewer: Any = None) -> Any:
    return represented(PaymentOutput, payment)


def credit_note_representation(credit_note: CreditNote, viewer: Any = None) -> Any:
    return CreditNoteOutput(selectors.credit_note_list().get(pk=credit_note.pk)).data


class StatementQuery(serializers.Serializer):
    # Whole UTC days, both included; billing.selectors.statement_period fills in the defaults
    # and refuses a reversed period.
    from_ = serializers.DateField(
        required=False, help_text="First day (UTC); by default the first of `to`'s month."
    )
    to = serializers.DateField(required=False, help_text="Last day (UTC); by default today.")


def _named_from(serializer_class: type[serializers.Serializer]) -> None:
    """`from` is a Python keyword: the field is declared as ``from_`` and named ``from`` on the
    wire, in its place among the others."""
    serializer_class._declared_fields = {
        "from" if name == "from_" else name: field
        for name, field in serializer_class._declared_fields.items()
    }


_named_from(StatementQuery)


class StatementEntryOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["invoice", "credit_note", "payment", "refund", "void"])
    occurred_at = serializers.DateTimeField()
    reference = serializers.CharField(
        help_text="The invoice's or credit note's number; the payment's id (for a refund, the "
        "refunded payment's)."
    )
    invoice = serializers.CharField(help_text="The number of the invoice it concerns.")
    amount = money_total(help_text="A debit (owed more) positive, a credit negative.")
    balance = money_total(help_text="What the customer owes after this entry.")


class StatementOutput(serializers.Serializer):
    customer = serializers.UUIDField(source="customer.pk")
    customer_name = serializers.CharField(source="customer.name")
    from_ = serializers.DateField(source="start")
    to = serializers.DateField(source="end")
    opening_balance = money_total()
    entries = StatementEntryOutput(many=True)
    closing_balance = money_total()


_named_from(StatementOutput)


def invoice_send_representation(send: InvoiceSend, viewer: Any = None) -> Any:
    return represented(InvoiceSendOutput, send)
