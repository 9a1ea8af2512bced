from django.contrib import admin

from core.admin import (
    AuditColumnsMixin,
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    SoftDeleteAdminMixin,
)

from .models import Customer, Invoice, InvoiceStatus, Payment, Product


@admin.register(Customer)
class CustomerAdmin(SoftDeleteAdminMixin, AuditColumnsMixin, admin.ModelAdmin):
    list_display = ("name", "email", "phone", "created_at", "deleted_at")
    search_fields = ("name", "email")


@admin.register(Product)
class ProductAdmin(SoftDeleteAdminMixin, AuditColumnsMixin, admin.ModelAdmin):
    list_display = ("name", "price", "active", "created_at", "deleted_at")
    list_filter = ("active",)
    search_fields = ("name",)


# Recording and refunding payments are audited and may move the invoice to paid; the billing
# service does both.
class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ("amount", "status", "provider", "created_at")
    show_change_link = True


@admin.register(Invoice)
class InvoiceAdmin(AuditColumnsMixin, admin.ModelAdmin):
    list_display = ("__str__", "customer", "amount", "status", "due_date", "created_at")
    list_filter = ("status",)
    search_fields = ("customer__name", "customer__email")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    # The status moves only through the billing services, which number, time and audit each
    # transition.
    readonly_fields = ("status",)
    inlines = [PaymentInline]
    # Only drafts may be deleted (PRODUCT.md §5): one at a time, from their page.
    actions = None

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # Finalizing freezes an invoice.
        if obj is not None and obj.status != InvoiceStatus.DRAFT:
            return ("customer", "amount", "due_date", *readonly)
        return readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        frozen = obj is not None and obj.status != InvoiceStatus.DRAFT
        return not frozen and super().has_delete_permission(request, obj)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "invoice", "invoice__customer", "status", "provider", "created_at")
    list_filter = ("status", "provider")
    search_fields = ("invoice__customer__name", "invoice__customer__email")
    list_select_related = ("invoice__customer",)
    raw_id_fields = ("invoice",)
