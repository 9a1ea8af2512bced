"""The "stock" contender for the billing endpoints of bench/bench_billing.py: what most Django
projects ship. ``ModelViewSet``s with ``ModelSerializer``s and DRF's ``PageNumberPagination``
(a COUNT and an OFFSET per page); a payment is the serializer's ``save()`` (no Idempotency-Key,
no invoice lock, no balance check, no audit, no event). Settings:
bench/stock_me_settings.py. Not part of the product.

  GET  /stock/billing/invoices[?past_due=true]
  POST /stock/billing/payments
"""

from django.db.models.functions import Now
from rest_framework import mixins, serializers, viewsets
from rest_framework.pagination import PageNumberPagination

from billing.models import Invoice, Payment


class StockPagination(PageNumberPagination):
    page_size = 50


class InvoiceSerializer(serializers.ModelSerializer):
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


class InvoiceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = InvoiceSerializer
    pagination_class = StockPagination

    def get_queryset(self):
        invoices = Invoice.objects.select_related("customer")
        if self.request.query_params.get("past_due") == "true":
            return invoices.filter(status="open", due_date__lt=Now()).order_by("due_date", "id")
        return invoices.order_by("-created_at", "-id")


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "invoice", "amount", "status", "provider", "created_at"]
        read_only_fields = ["status"]


class PaymentViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = PaymentSerializer
    queryset = Payment.objects.all()

    def perform_create(self, serializer):
        serializer.save(status="succeeded", recorded_by=self.request.user)
