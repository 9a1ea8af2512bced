import csv
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import ModuleType
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget, RelatedFieldWidgetWrapper
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html

from core.admin import (
    AuditColumnsMixin,
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    ServiceWritesAdminMixin,
    SoftDeleteAdminMixin,
    saved_by_service,
)
from core.admin_site import Bar, Figure, Panel
from core.api.context import action_context
from core.exceptions import Conflict, DomainError, ValidationFailed

from . import selectors
from .models import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceSend,
    InvoiceStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Product,
    Refund,
)
from .services import credit_notes, customers, invoices, payments, products, sending


def _pdf(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


class NoRelatedEditLinksMixin:
    """Choosing a customer or product on an invoice must not offer to change or delete that
    customer or product from there (one stray click away); adding a new one is fine."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and isinstance(field.widget, RelatedFieldWidgetWrapper):
            field.widget.can_change_related = False
            field.widget.can_delete_related = False
            field.widget.can_view_related = False
        return field


class _ServiceCrudAdmin(ServiceWritesAdminMixin, SoftDeleteAdminMixin, AuditColumnsMixin):
    """Adds, edits, deletes and restores through ``<service_prefix>_create|update|delete|
    restore`` of ``service_module``, which take the fields named in ``service_fields`` and
    audit each change."""

    service_module: ModuleType
    service_prefix: str
    service_fields: tuple[str, ...]
    actions = ["restore_selected"]

    def _service(self, verb: str):
        return getattr(self.service_module, f"{self.service_prefix}_{verb}")

    def _acting(self, request) -> dict:
        return {"actor": request.user, "context": action_context(request)}

    def save_model(self, request, obj, form, change) -> None:
        fields = {name: form.cleaned_data[name] for name in self.service_fields}
        if change:
            changed = {name: value for name, value in fields.items() if name in form.changed_data}
            self._service("update")(
                **{self.service_prefix: obj}, **changed, **self._acting(request)
            )
        else:
            created = self._service("create")(**fields, **self._acting(request))
            obj.pk, obj._state.adding = created.pk, False

    def delete_model(self, request, obj) -> None:
        self._service("delete")(**{self.service_prefix: obj}, **self._acting(request))

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(permissions=["change"], description="Restore selected %(verbose_name_plural)s")
    def restore_selected(self, request, queryset) -> None:
        restore = self._service("restore")
        _each(
            self,
            request,
            queryset.deleted(),
            lambda row: restore(**{self.service_prefix: row}, **self._acting(request)),
            "Restored",
        )


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ("name", "email", "phone", "address")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        # The service's own check, asked early so the page keeps what was typed.
        try:
            customers.require_email(email, customer=self.instance if self.instance.pk else None)
        except ValidationFailed as refusal:
            raise forms.ValidationError(refusal.fields["email"]) from None
        return email


class StatementForm(forms.Form):
    # The API's `from` and `to`: empty means the same defaults (selectors.statement_period).
    start = forms.DateField(label="From", required=False, widget=AdminDateWidget)
    end = forms.DateField(label="To", required=False, widget=AdminDateWidget)


@admin.register(Customer)
class CustomerAdmin(_ServiceCrudAdmin, admin.ModelAdmin):
    form = CustomerForm
    list_display = ("name", "email", "phone", "created_at", "deleted_at")
    search_fields = ("name", "email")
    service_module, service_prefix = customers, "customer"
    service_fields = ("name", "email", "phone", "address")
    # Adds the "Statement" link beside History.
    change_form_template = "admin/billing/customer_change_form.html"

    def get_urls(self):
        statement = path(
            "<uuid:object_id>/statement/",
            self.admin_site.admin_view(self.statement_view),
            name="billing_customer_statement",
        )
        return [statement, *super().get_urls()]

    def statement_view(self, request: HttpRequest, object_id) -> HttpResponse:
        """The customer's statement as the API gives it (the same selector), for the days the
        filter names; ``?download=csv`` gives it as a spreadsheet."""
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404
        if not all(request.user.has_perm(perm) for perm in selectors.STATEMENT_PERMISSIONS):
            raise PermissionDenied
        form = StatementForm(request.GET or None)
        statement = None
        # An invalid form shows its errors beside the fields, and no figures.
        if not form.is_bound or form.is_valid():
            data = form.cleaned_data if form.is_bound else {}
            try:
                start, end = selectors.statement_period(data.get("start"), data.get("end"))
            except ValidationFailed as refusal:
                names = {"from": "start", "to": "end"}
                for name, errors in refusal.fields.items():
                    form.add_error(names[name], errors)
            else:
                statement = selectors.customer_statement(customer, start=start, end=end)
                if not form.is_bound:  # show the days the defaults chose
                    form = StatementForm(initial={"start": start, "end": end})
        if statement is not None and request.GET.get("download") == "csv":
            return _statement_csv(statement)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Statement of {customer}",
            "opts": self.opts,
            "object": customer,
            "form": form,
            "statement": statement,
            "change_url": reverse("admin:billing_customer_change", args=[customer.pk]),
            "csv_query": urlencode({**request.GET.dict(), "download": "csv"}),
        }
        return TemplateResponse(request, "admin/billing/customer_statement.html", context)


def _statement_csv(statement: selectors.CustomerStatement) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"statement-{statement.start:%Y%m%d}-{statement.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(["date", "kind", "reference", "invoice", "debit", "credit", "balance"])
    writer.writerow(
        [statement.start.isoformat(), "opening", "", "", "", "", statement.opening_balance]
    )
    for entry in statement.entries:
        writer.writerow(
            [
                entry.occurred_at.isoformat(),
                entry.kind,
                entry.reference,
                entry.invoice,
                "" if entry.debit is None else entry.debit,
                "" if entry.credit is None else entry.credit,
                entry.balance,
            ]
        )
    writer.writerow(
        [statement.end.isoformat(), "closing", "", "", "", "", statement.closing_balance]
    )
    return response


@admin.register(Product)
class ProductAdmin(_ServiceCrudAdmin, admin.ModelAdmin):
    list_display = ("name", "price", "active", "created_at", "deleted_at")
    list_filter = ("active",)
    search_fields = ("name",)
    service_module, service_prefix = products, "product"
    service_fields = ("name", "description", "price", "active")


class InvoiceLineInline(ReadOnlyTabularInline):
    """The lines of an invoice past draft: frozen (the database refuses changes to them)."""

    model = InvoiceLine
    fields = ("position", "product", "description", "quantity", "unit_price", "total")
    list_select_related = ("product",)


class DraftLineForm(forms.ModelForm):
    # Not the model's position: the service numbers the lines 1, 2, 3... in this order.
    order = forms.IntegerField(
        required=False, min_value=0, label="Order", widget=forms.NumberInput(attrs={"size": 3})
    )

    class Meta:
        model = InvoiceLine
        fields = ("product", "description", "quantity", "unit_price")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A product fills in what is left blank (docs/product.md §5).
        self.fields["description"].required = False
        self.fields["unit_price"].required = False
        if self.instance.pk is not None:
            self.initial["order"] = self.instance.position


class DraftLineFormSet(BaseInlineFormSet):
    """Checks the lines with the invoice service's own rules before anything is saved, and
    keeps them (``lines``) for the service call; None when nothing changed."""

    lines: list[invoices.LineInput] | None = None

    def clean(self) -> None:
        super().clean()
        # Untouched lines stay as stored (a product sold on them may be retired since).
        if any(self.errors) or not self.has_changed():
            return
        kept = [
            (form.cleaned_data.get("order"), index, form)
            for index, form in enumerate(self.forms)
            if form.cleaned_data
            and not self._should_delete_form(form)  # type: ignore[attr-defined]
            and (form.instance.pk is not None or form.has_changed())
        ]
        kept.sort(key=lambda row: (row[0] is None, row[0] or 0, row[1]))
        forms_in_order = [form for _, _, form in kept]
        lines = [
            invoices.LineInput(
                quantity=form.cleaned_data["quantity"],
                product=form.cleaned_data.get("product"),
                description=form.cleaned_data.get("description") or None,
                unit_price=form.cleaned_data.get("unit_price"),
            )
            for form in forms_in_order
        ]
        try:
            invoices.build_lines(lines)
        except ValidationFailed as refusal:
            for key, messages_ in refusal.fields.items():
                _, _, rest = key.partition(".")
                index, _, field = rest.partition(".")
                if index.isdigit() and field:
                    forms_in_order[int(index)].add_error(field, messages_)
                else:
                    raise forms.ValidationError(messages_) from None
            return
        self.lines = lines


class DraftLineInline(NoRelatedEditLinksMixin, admin.TabularInline):
    """A draft's lines, edited on the invoice's page and saved with it by the invoice
    service (the total recomputed)."""

    model = InvoiceLine
    form = DraftLineForm
    formset = DraftLineFormSet
    fields = ("order", "product", "description", "quantity", "unit_price", "total")
    readonly_fields = ("total",)
    autocomplete_fields = ("product",)
    extra = 1

    # The lines are part of the invoice: whoever may add or edit it may edit them.
    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(
            "billing.add_invoice" if obj is None else "billing.change_invoice"
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_add_permission(request, obj)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("billing.view_invoice")


# Recording and refunding payments are audited and may move the invoice to paid; the billing
# service does both.
class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ("amount", "refunded_amount", "status", "provider", "created_at", "refund_link")
    readonly_fields = fields
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description="Refund")
    def refund_link(self, payment: Payment) -> str:
        if payment.status != PaymentStatus.SUCCEEDED:
            return "—"
        url = reverse("admin:billing_payment_refund", args=[payment.pk])
        return format_html('<a href="{}">Refund…</a>', url)


class CreditNoteInline(ReadOnlyTabularInline):
    model = CreditNote
    fields = ("number", "amount", "reason", "issued_at")
    show_change_link = True


class InvoiceSendInline(ReadOnlyTabularInline):
    """The invoice's emails, sends and reminders, and how each went."""

    model = InvoiceSend
    fields = ("to", "reminder_step", "status", "attempts", "last_error", "requested_at", "sent_at")
    verbose_name = "email to the customer"
    verbose_name_plural = "emails to the customer (sends and reminders)"


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


class DunningExhaustedFilter(admin.SimpleListFilter):
    """Open invoices whose reminders ran out: staff's to chase (the dashboard links here)."""

    title = "reminders"
    parameter_name = "reminders_exhausted"

    def lookups(self, request, model_admin):
        return [("yes", "All sent, still open")]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(status=InvoiceStatus.OPEN, dunning_exhausted_at__isnull=False)


@admin.action(description="Send to customer", permissions=["send"])
def send_to_customer(modeladmin, request, queryset):
    _each(
        modeladmin,
        request,
        queryset,
        lambda invoice: sending.invoice_send(
            invoice=invoice, actor=request.user, context=action_context(request)
        ),
        "Queued for sending (the invoice page shows how each went)",
    )


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


def end_of_day(day: date) -> datetime:
    """An invoice due on a day may be paid until that day ends (in the site's time zone)."""
    return timezone.make_aware(datetime.combine(day, time.max))


class InvoiceForm(forms.ModelForm):
    due_date = forms.DateField(
        widget=AdminDateWidget, help_text="Payable until the end of this day."
    )

    class Meta:
        model = Invoice
        fields = ("customer", "due_date")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["due_date"] = timezone.localtime(self.instance.due_date).date()

    def clean_due_date(self) -> datetime:
        return end_of_day(self.cleaned_data["due_date"])


class PaymentForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    provider = forms.ChoiceField(choices=PaymentProvider.choices, initial=PaymentProvider.MANUAL)


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(required=False, max_length=500)


def money_form_view(
    modeladmin, request, *, form, obj, invoice_id, title: str, intro: str, write
) -> HttpResponse:
    """A small form about one invoice or payment, in the admin's look: a valid POST runs
    ``write(cleaned_data)`` (the service call, which returns the message to show) and goes back
    to the invoice; a refusal goes on the form."""
    if request.method == "POST" and form.is_valid():
        try:
            done = write(form.cleaned_data)
        except DomainError as refusal:
            add_refusal(form, refusal)
        else:
            modeladmin.message_user(request, done, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice_id]))
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "form": form,
        "object": obj,
        "opts": modeladmin.opts,
        "change_url": reverse(f"admin:billing_{modeladmin.opts.model_name}_change", args=[obj.pk]),
    }
    return TemplateResponse(request, "admin/billing/money_form.html", context)


def add_refusal(form: forms.Form, refusal: DomainError) -> None:
    """A service's refusal on the form: under each field it names, or above the form."""
    placed = [name for name in refusal.fields if name in form.fields]
    for name in placed:
        form.add_error(name, refusal.fields[name])
    if not placed:
        form.add_error(None, refusal.detail)


@admin.register(Invoice)
class InvoiceAdmin(
    NoRelatedEditLinksMixin,
    ServiceWritesAdminMixin,
    AuditColumnsMixin,
    LargeTableAdminMixin,
    admin.ModelAdmin,
):
    form = InvoiceForm
    list_display = ("__str__", "customer", "amount", "status", "due_on", "created_at")
    list_filter = (PastDueFilter, DunningExhaustedFilter, "status")
    search_fields = ("number", "customer__name", "customer__email")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    # The status moves only through the billing services, which number, time and audit each
    # transition; the amount is the sum of the lines.
    readonly_fields = (
        "status",
        "number",
        "amount",
        "balance",
        "due_on",
        "finalized_at",
        "finalized_by",
        "paid_at",
        "voided_at",
        "uncollectible_at",
        "credited_amount",
        "pdf",
        "dunning_exhausted_at",
    )
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
        send_to_customer,
    ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("customer", "due_date")
        if obj.status == InvoiceStatus.DRAFT:
            return ("customer", "due_date", "status", "amount", "created_at", "updated_at")
        return (
            "number",
            "customer",
            "due_on",
            "status",
            "amount",
            "balance",
            "credited_amount",
            "pdf",
            "finalized_at",
            "finalized_by",
            "paid_at",
            "voided_at",
            "uncollectible_at",
            "dunning_exhausted_at",
            "created_at",
            "updated_at",
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and obj.status != InvoiceStatus.DRAFT:
            # Nothing to edit: InvoiceForm's declared due date would still be asked for.
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # Finalizing freezes an invoice.
        if obj is not None and obj.status != InvoiceStatus.DRAFT:
            return ("customer", *readonly)
        return readonly

    def get_inlines(self, request, obj):
        if obj is None or obj.status == InvoiceStatus.DRAFT:
            return [DraftLineInline]
        # Only a finalized invoice is ever credited.
        return [InvoiceLineInline, PaymentInline, CreditNoteInline, InvoiceSendInline]

    @admin.display(description="PDF")
    def pdf(self, obj: Invoice) -> str:
        if obj.pk is None or obj.pdf_sha256 is None:
            return "-"
        url = reverse("admin:billing_invoice_pdf", args=[obj.pk])
        return format_html(
            '<a href="{}">Download {}.pdf</a> (SHA-256 {})', url, obj, obj.pdf_sha256
        )

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

    def has_send_permission(self, request) -> bool:
        return request.user.has_perm("billing.send_invoice")

    @admin.display(description="Due", ordering="due_date")
    def due_on(self, invoice: Invoice) -> str:
        return formats.date_format(timezone.localtime(invoice.due_date), "DATE_FORMAT")

    @admin.display(description="Payments")
    def balance(self, invoice: Invoice) -> str:
        balance = payments.invoice_balance(invoice=invoice)
        text = f"{balance.paid} paid of {invoice.amount}; {balance.remaining} remains due."
        if invoice.status not in payments.PAYABLE or balance.remaining <= 0:
            return text
        url = reverse("admin:billing_invoice_payment", args=[invoice.pk])
        return format_html('{} <a class="button" href="{}">Record a payment…</a>', text, url)

    def save_model(self, request, obj, form, change) -> None:
        # The invoice and its lines are one service call, made once the lines are read
        # (save_related).
        return

    def save_related(self, request, form, formsets, change) -> None:
        lines = next(
            (formset.lines for formset in formsets if isinstance(formset, DraftLineFormSet)),
            None,
        )
        fields = {name: form.cleaned_data[name] for name in ("customer", "due_date")}
        acting = {"actor": request.user, "context": action_context(request)}
        if change:
            invoices.invoice_update(invoice=form.instance, lines=lines, **fields, **acting)
        else:
            created = invoices.invoice_create(lines=lines or (), **fields, **acting)
            form.instance.pk, form.instance._state.adding = created.pk, False
        for formset in formsets:
            saved_by_service(formset)

    def delete_model(self, request, obj) -> None:
        invoices.invoice_delete(invoice=obj, actor=request.user, context=action_context(request))

    def get_urls(self):
        payment = path(
            "<path:object_id>/payment/",
            self.admin_site.admin_view(self.payment_view),
            name="billing_invoice_payment",
        )
        download = path(
            "<uuid:object_id>/pdf/",
            self.admin_site.admin_view(self.pdf_view),
            name="billing_invoice_pdf",
        )
        return [payment, download, *super().get_urls()]

    def payment_view(self, request, object_id):
        """Records a payment of any amount up to what remains due (a partial payment leaves
        the invoice open), through the same service and audit as the API."""
        invoice = self.get_object(request, object_id)
        if invoice is None or not self.has_pay_permission(request):
            raise PermissionDenied
        remaining = payments.invoice_balance(invoice=invoice).remaining
        form = PaymentForm(request.POST or None, initial={"amount": remaining})

        def pay(data) -> str:
            payments.payment_record(
                invoice=invoice,
                amount=data["amount"],
                provider=data["provider"],
                actor=request.user,
                context=action_context(request),
            )
            invoice.refresh_from_db()
            left = payments.invoice_balance(invoice=invoice).remaining
            return f"Payment of {data['amount']} recorded; " + (
                f"{left} remains due." if left > 0 else f"{invoice} is paid."
            )

        return money_form_view(
            self,
            request,
            form=form,
            obj=invoice,
            invoice_id=invoice.pk,
            title=f"Record a payment on {invoice}",
            intro=f"{remaining} remains due. A smaller amount leaves the invoice open.",
            write=pay,
        )


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

    def get_urls(self):
        refund = path(
            "<path:object_id>/refund/",
            self.admin_site.admin_view(self.refund_view),
            name="billing_payment_refund",
        )
        return [refund, *super().get_urls()]

    def refund_view(self, request, object_id):
        """Gives back part or all of a payment, through the same service as the API."""
        payment = self.get_object(request, object_id)
        if payment is None or not self.has_refund_permission(request):
            raise PermissionDenied
        refundable = payment.amount - payment.refunded_amount
        form = RefundForm(request.POST or None, initial={"amount": refundable})

        def refund(data) -> str:
            payments.payment_refund(
                payment=payment,
                amount=data["amount"],
                reason=data["reason"],
                actor=request.user,
                context=action_context(request),
            )
            return f"Refunded {data['amount']}."

        return money_form_view(
            self,
            request,
            form=form,
            obj=payment,
            invoice_id=payment.invoice_id,
            title=f"Refund {payment}",
            intro=f"{refundable} of this payment can be refunded.",
            write=refund,
        )


# --- the dashboard ---------------------------------------------------------------------------

# The figures are sums over every open invoice and recent payment: cached a minute, so the
# console's front page stays cheap however often it is opened.
DASHBOARD_CACHE_SECONDS = 60
REVENUE_MONTHS = 6
# Open invoices whose reminders ran out, listed by name; the filter link shows them all.
EXHAUSTED_LISTED = 10


def _money_figures() -> tuple[selectors.OutstandingTotals, list[selectors.MonthlyRevenue]]:
    return (
        selectors.outstanding_totals(),
        selectors.revenue_by_month(months=REVENUE_MONTHS),
    )


@admin.site.register_panel  # type: ignore[attr-defined]
def billing_panel(request) -> Panel | None:
    if not request.user.has_perm("billing.view_invoice"):
        return None
    cached = cache.get_or_set("console:billing-panel", _money_figures, DASHBOARD_CACHE_SECONDS)
    totals, months = cached or _money_figures()
    invoices_url = reverse("admin:billing_invoice_changelist")
    payments_url = reverse("admin:billing_payment_changelist")
    largest = max((month.net for month in months), default=Decimal("0")) or Decimal("1")
    bars = []
    for month in months:
        start = month.month
        end = (start + timedelta(days=32)).replace(day=1)
        query = {"created_at__gte": start.isoformat(), "created_at__lt": end.isoformat()}
        bars.append(
            Bar(
                label=formats.date_format(start, "YEAR_MONTH_FORMAT"),
                value=str(month.net),
                share=max(0, int(month.net * 100 / largest)),
                url=f"{payments_url}?{urlencode(query)}",
            )
        )
    return Panel(
        title="Billing",
        figures=[
            Figure(
                f"outstanding on {totals.open_invoices} open "
                f"{'invoice' if totals.open_invoices == 1 else 'invoices'}",
                str(totals.outstanding),
                f"{invoices_url}?status__exact={InvoiceStatus.OPEN}",
            ),
            Figure(
                f"past due on {totals.past_due_invoices} "
                f"{'invoice' if totals.past_due_invoices == 1 else 'invoices'}",
                str(totals.past_due),
                f"{invoices_url}?past_due=yes",
            ),
        ],
        bars=bars,
        bars_title="Received, less refunds, by month",
        # Not cached: staff who just chased one expect it gone (an index of only these rows).
        items=[
            Figure(
                f"{invoice} ({invoice.customer})",
                f"due {formats.date_format(timezone.localtime(invoice.due_date), 'DATE_FORMAT')}",
                reverse("admin:billing_invoice_change", args=[invoice.pk]),
            )
            for invoice in selectors.dunning_exhausted(limit=EXHAUSTED_LISTED)
        ],
        items_title="Reminders all sent, still open: call these customers",
    )


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


@admin.register(InvoiceSend)
class InvoiceSendAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """Every invoice email and reminder, to find the failed ones; sent from the invoices'
    "Send to customer" action and by the reminders job, never written here."""

    list_display = ("invoice", "to", "reminder_step", "status", "attempts", "requested_at")
    list_filter = ("status",)
    search_fields = ("invoice__number", "to")
    list_select_related = ("invoice",)
    raw_id_fields = ("invoice",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
