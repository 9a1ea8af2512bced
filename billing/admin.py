from types import ModuleType

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import (
    AuditColumnsMixin,
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    ServiceWritesAdminMixin,
    SoftDeleteAdminMixin,
)
from core.api.context import action_context
from core.exceptions import Conflict, DomainError

from . import selectors
from .models import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentProvider,
    Product,
    Refund,
)
from .services import credit_notes, customers, invoices, payments, products


def _pdf(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


class _ServiceCrudAdmin(ServiceWritesAdminMixin, SoftDeleteAdminMixin, AuditColumnsMixin):
    """Adds, edits and deletes through ``<service_prefix>_create|update|delete`` of
    ``service_module``, which take the fields named in ``service_fields``."""

    service_module: ModuleType
    service_prefix: str
    service_fields: tuple[str, ...]

    def _service(self, verb: str):
        return getattr(self.service_module, f"{self.service_prefix}_{verb}")

    def save_model(self, request, obj, form, change) -> None:
        fields = {name: form.cleaned_data[name] for name in self.service_fields}
        if change:
            changed = {name: value for name, value in fields.items() if name in form.changed_data}
            self._service("update")(**{self.service_prefix: obj}, **changed)
        else:
            created = self._service("create")(**fields)
            obj.pk, obj._state.adding = created.pk, False

    def delete_model(self, request, obj) -> None:
        self._service("delete")(**{self.service_prefix: obj})

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Customer)
class CustomerAdmin(_ServiceCrudAdmin, admin.ModelAdmin):
    list_display = ("name", "email", "phone", "created_at", "deleted_at")
    search_fields = ("name", "email")
    service_module, service_prefix = customers, "customer"
    service_fields = ("name", "email", "phone", "address")


@admin.register(Product)
class ProductAdmin(_ServiceCrudAdmin, admin.ModelAdmin):
    list_display = ("name", "price", "active", "created_at", "deleted_at")
    list_filter = ("active",)
    search_fields = ("name",)
    service_module, service_prefix = products, "product"
    service_fields = ("name", "description", "price", "active")


class InvoiceLineInline(ReadOnlyTabularInline):
    # Lines are written with the invoice's amount by the billing services (the API), which
    # keep the two equal; the database checks it at commit.
    model = InvoiceLine
    fields = ("position", "product", "description", "quantity", "unit_price", "total")
    list_select_related = ("product",)


# Recording and refunding payments are audited and may move the invoice to paid; the billing
# service does both.
class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ("amount", "refunded_amount", "status", "provider", "created_at")
    show_change_link = True


class CreditNoteInline(ReadOnlyTabularInline):
    model = CreditNote
    fields = ("number", "amount", "reason", "issued_at")
    show_change_link = True


class PastDueFilter(admin.SimpleListFilter):
    """Open invoices whose due date has passed (docs/product.md §5)."""

    title = "past due"
    parameter_name = "past_due"

    def lookups(self, request, model_admin):
        return [("yes", "Past due")]

    def queryset(self, request, queryset):
        return selectors.past_due(queryset) if self.value() == "yes" else queryset


def _each(modeladmin, request, queryset, perform, done: str) -> None:
    """Runs ``perform(row)`` (one service call) per selected row; refusals are reported, not
    raised, so one bad row does not hide what happened to the others."""
    succeeded = 0
    for row in queryset:
        try:
            perform(row)
            succeeded += 1
        except DomainError as refusal:
            modeladmin.message_user(request, f"{row}: {refusal.detail}", messages.ERROR)
    if succeeded:
        modeladmin.message_user(request, f"{done}: {succeeded}.", messages.SUCCESS)


def _transition_action(service, description: str, permission: str, done: str):
    @admin.action(description=description, permissions=[permission])
    def run(modeladmin, request, queryset):
        _each(
            modeladmin,
            request,
            queryset,
            lambda invoice: service(
                invoice=invoice, actor=request.user, context=action_context(request)
            ),
            done,
        )

    run.__name__ = service.__name__
    return run


@admin.action(description="Record a manual payment of what remains due", permissions=["pay"])
def record_payment(modeladmin, request, queryset):
    def pay(invoice: Invoice) -> None:
        remaining = payments.invoice_balance(invoice=invoice).remaining
        if remaining <= 0:
            raise Conflict("Nothing remains due.")
        # The service checks the amount again under the invoice lock.
        payments.payment_record(
            invoice=invoice,
            amount=remaining,
            provider=PaymentProvider.MANUAL,
            actor=request.user,
            context=action_context(request),
        )

    _each(modeladmin, request, queryset, pay, "Payments recorded")


@admin.register(Invoice)
class InvoiceAdmin(ServiceWritesAdminMixin, AuditColumnsMixin, admin.ModelAdmin):
    list_display = ("__str__", "customer", "amount", "status", "due_date", "created_at")
    list_filter = (PastDueFilter, "status")
    search_fields = ("number", "customer__name", "customer__email")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    # The status moves only through the billing services, which number, time and audit each
    # transition; the amount is the sum of the lines.
    readonly_fields = (
        "status",
        "amount",
        "number",
        "finalized_at",
        "finalized_by",
        "paid_at",
        "voided_at",
        "uncollectible_at",
        "credited_amount",
        "pdf",
    )
    inlines = [InvoiceLineInline, PaymentInline, CreditNoteInline]
    actions = [
        _transition_action(
            invoices.invoice_finalize, "Finalize selected drafts", "finalize", "Finalized"
        ),
        _transition_action(invoices.invoice_void, "Void selected invoices", "void", "Voided"),
        _transition_action(
            invoices.invoice_mark_uncollectible,
            "Mark selected invoices uncollectible",
            "mark_uncollectible",
            "Marked uncollectible",
        ),
        record_payment,
    ]

    def get_inlines(self, request, obj):
        # Only a finalized invoice is ever credited.
        if obj is None or obj.status == InvoiceStatus.DRAFT:
            return [InvoiceLineInline, PaymentInline]
        return self.inlines

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # Finalizing freezes an invoice.
        if obj is not None and obj.status != InvoiceStatus.DRAFT:
            return ("customer", "due_date", *readonly)
        return readonly

    @admin.display(description="PDF")
    def pdf(self, obj: Invoice) -> str:
        if obj.pk is None or obj.pdf_sha256 is None:
            return "-"
        url = reverse("admin:billing_invoice_pdf", args=[obj.pk])
        return format_html(
            '<a href="{}">Download {}.pdf</a> (SHA-256 {})', url, obj, obj.pdf_sha256
        )

    def get_urls(self):
        download = self.admin_site.admin_view(self.pdf_view)
        return [
            path("<uuid:object_id>/pdf/", download, name="billing_invoice_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, object_id) -> HttpResponse:
        """The invoice's PDF for whoever may see the invoice here; the API's rules."""
        invoice = get_object_or_404(Invoice, pk=object_id)
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        try:
            content = selectors.invoice_pdf(invoice)
        except DomainError as refusal:
            self.message_user(request, refusal.detail, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))
        return _pdf(content, str(invoice))

    def has_delete_permission(self, request, obj=None) -> bool:
        # Only drafts may be deleted (docs/product.md §5): one at a time, from their page.
        frozen = obj is not None and obj.status != InvoiceStatus.DRAFT
        return not frozen and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Deleting goes through the service one draft at a time, from the draft's page.
        actions.pop("delete_selected", None)
        return actions

    def has_finalize_permission(self, request) -> bool:
        return request.user.has_perm("billing.finalize_invoice")

    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("billing.void_invoice")

    def has_mark_uncollectible_permission(self, request) -> bool:
        return request.user.has_perm("billing.mark_uncollectible_invoice")

    def has_pay_permission(self, request) -> bool:
        return request.user.has_perm("billing.add_payment")

    def save_model(self, request, obj, form, change) -> None:
        fields = {name: form.cleaned_data[name] for name in ("customer", "due_date")}
        acting = {"actor": request.user, "context": action_context(request)}
        if change:
            invoices.invoice_update(invoice=obj, **fields, **acting)
        else:
            created = invoices.invoice_create(**fields, **acting)
            obj.pk, obj._state.adding = created.pk, False

    def delete_model(self, request, obj) -> None:
        invoices.invoice_delete(invoice=obj, actor=request.user, context=action_context(request))


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fields = ("amount", "reason", "created_by", "created_at")
    list_select_related = ("created_by",)


@admin.action(description="Refund what is left of selected payments", permissions=["refund"])
def refund_payments(modeladmin, request, queryset):
    def refund(payment: Payment) -> None:
        payments.payment_refund(
            payment=payment, actor=request.user, context=action_context(request)
        )

    _each(modeladmin, request, queryset, refund, "Refunded")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "invoice", "invoice__customer", "status", "provider", "created_at")
    list_filter = ("status", "provider")
    search_fields = ("invoice__customer__name", "invoice__customer__email")
    list_select_related = ("invoice__customer",)
    raw_id_fields = ("invoice",)
    inlines = [RefundInline]
    actions = [refund_payments]

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("billing.refund_payment")


class CreditNoteForm(forms.ModelForm):
    class Meta:
        model = CreditNote
        fields = ("invoice", "amount", "reason")

    def clean(self):
        # The service's rules, repeated for a message beside the field; it checks them again
        # under the invoice lock.
        cleaned = super().clean() or self.cleaned_data
        invoice, amount = cleaned.get("invoice"), cleaned.get("amount")
        if invoice is None or amount is None:
            return cleaned
        if invoice.status not in credit_notes.CREDITABLE:
            self.add_error("invoice", f"A {invoice.status} invoice cannot be credited.")
        elif amount > invoice.amount - invoice.credited_amount:
            left = invoice.amount - invoice.credited_amount
            self.add_error("amount", f"At most {left} of this invoice is left to credit.")
        return cleaned


@admin.register(CreditNote)
class CreditNoteAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    """Issued here through the service (an amount of the invoice as a whole; the API also
    credits parts of lines); once issued, a credit note is only looked at."""

    form = CreditNoteForm
    list_display = ("number", "invoice", "amount", "issued_at")
    search_fields = ("number", "invoice__number")
    list_select_related = ("invoice",)
    autocomplete_fields = ("invoice",)
    readonly_fields = ("number", "issued_at", "issued_by", "pdf")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("invoice", "amount", "reason")
        return ("number", "invoice", "amount", "reason", "issued_at", "issued_by", "pdf")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="PDF")
    def pdf(self, obj: CreditNote) -> str:
        url = reverse("admin:billing_creditnote_pdf", args=[obj.pk])
        return format_html(
            '<a href="{}">Download {}.pdf</a> (SHA-256 {})', url, obj, obj.pdf_sha256
        )

    def get_urls(self):
        download = self.admin_site.admin_view(self.pdf_view)
        return [
            path("<uuid:object_id>/pdf/", download, name="billing_creditnote_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, object_id) -> HttpResponse:
        credit_note = get_object_or_404(CreditNote, pk=object_id)
        if not self.has_view_permission(request, credit_note):
            raise PermissionDenied
        try:
            content = selectors.credit_note_pdf(credit_note)
        except DomainError as refusal:
            self.message_user(request, refusal.detail, messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:billing_creditnote_change", args=[credit_note.pk])
            )
        return _pdf(content, credit_note.number)

    def save_model(self, request, obj, form, change) -> None:
        created = credit_notes.credit_note_issue(
            invoice=form.cleaned_data["invoice"],
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
            context=action_context(request),
        )
        obj.pk, obj._state.adding = created.pk, False
