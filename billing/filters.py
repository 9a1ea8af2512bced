"""Query filters of the billing lists (django-filter): bad values are a 400 naming them."""

import django_filters

from . import selectors
from .models import Invoice, InvoiceStatus, Payment, Product


class ProductFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter()

    class Meta:
        model = Product
        fields = ["active"]


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    customer = django_filters.UUIDFilter(field_name="customer_id")
    past_due = django_filters.BooleanFilter(
        method="filter_past_due", label="Open and due before now"
    )

    class Meta:
        model = Invoice
        fields = ["status", "customer", "past_due"]

    def filter_past_due(self, queryset, name, value):
        overdue = selectors.past_due(queryset)
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))


class PaymentFilter(django_filters.FilterSet):
    invoice = django_filters.UUIDFilter(field_name="invoice_id")

    class Meta:
        model = Payment
        fields = ["invoice", "status", "provider"]
