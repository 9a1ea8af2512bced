"""The billing admin: its actions are the services, with the same refusals."""

import csv
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Customer, Invoice, InvoiceStatus, Payment, PaymentStatus, Product
from core.models import AuditAction, AuditEvent
from tests.billing.factories import invoice_with_lines
from tests.factories import CustomerFactory, PaymentFactory, ProductFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

INVOICES = reverse("admin:billing_invoice_changelist")
PAYMENTS = reverse("admin:billing_payment_changelist")


@pytest.fixture
def admin_client(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["billing_manager"]))
    return client


def run_action(client, url, action: str, *objects):
    return client.post(
        url,
        {"action": action, "_selected_action": [str(o.pk) for o in objects]},
        follow=True,
    )


def test_finalize_action_numbers_the_selected_drafts(admin_client):
    drafts = [invoice_with_lines(status=InvoiceStatus.DRAFT) for _ in range(2)]

    run_action(admin_client, INVOICES, "invoice_finalize", *drafts)

    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    year = timezone.now().year
    assert numbers == [f"INV-{year}-000001", f"INV-{year}-000002"]


def test_an_action_refused_for_one_invoice_reports_it_and_goes_on(admin_client):
    draft = invoice_with_lines(status=InvoiceStatus.DRAFT)
    open_invoice = invoice_with_lines(status=InvoiceStatus.OPEN)

    response = run_action(admin_client, INVOICES, "invoice_void", draft, open_invoice)

    assert "Cannot void an invoice that is draft." in response.content.decode()
    assert Invoice.objects.get(pk=open_invoice.pk).status == InvoiceStatus.VOID
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_mark_uncollectible_then_record_payment_pays_the_invoice(admin_client):
    invoice = invoice_with_lines(amount=Decimal("70.00"), status=InvoiceStatus.OPEN)
    PaymentFactory(invoice=invoice, amount=Decimal("20.00"))

    run_action(admin_client, INVOICES, "invoice_mark_uncollectible", invoice)
    run_action(admin_client, INVOICES, "record_payment", invoice)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.payments.filter(amount=Decimal("50.00"), provider="manual").exists()


def test_refund_action_refunds_and_reopens_the_invoice(admin_client):
    invoice = invoice_with_lines(amount=Decimal("30.00"), status=InvoiceStatus.PAID)
    payment = PaymentFactory(invoice=invoice, amount=Decimal("30.00"))

    run_action(admin_client, PAYMENTS, "refund_payments", payment)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.OPEN
    assert AuditEvent.objects.filter(action=AuditAction.PAYMENT_REFUNDED).exists()


def test_past_due_filter_lists_overdue_open_invoices(admin_client):
    overdue = invoice_with_lines(
        status=InvoiceStatus.OPEN, due_date=timezone.now() - timedelta(days=1)
    )
    invoice_with_lines(status=InvoiceStatus.OPEN)

    listed = admin_client.get(INVOICES, {"past_due": "yes"}).context["cl"].result_list

    assert [row.pk for row in listed] == [overdue.pk]


def draft_lines(*lines: dict) -> dict:
    """The POST of a draft's line editor; a line with an ``id`` is one the page showed."""
    data = {
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(sum("id" in line for line in lines)),
    }
    for index, line in enumerate(lines):
        data.update({f"lines-{index}-{name}": str(value) for name, value in line.items()})
    return data


def test_a_line_breaking_a_rule_is_shown_on_its_row_and_nothing_is_saved(admin_client):
    customer = CustomerFactory()

    response = admin_client.post(
        reverse("admin:billing_invoice_add"),
        {
            "customer": str(customer.pk),
            "due_date": "2031-01-31",
            **draft_lines({"description": "", "quantity": "1", "unit_price": "5.00"}),
        },
    )

    assert response.status_code == 200
    assert "A line without a product needs a description." in response.content.decode()
    assert not Invoice.objects.exists()


def test_adding_an_invoice_in_the_admin_creates_an_audited_draft(admin_client):
    customer = CustomerFactory()
    due = timezone.now() + timedelta(days=10)

    admin_client.post(
        reverse("admin:billing_invoice_add"),
        {
            "customer": str(customer.pk),
            "due_date": due.strftime("%Y-%m-%d"),
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
            "payments-TOTAL_FORMS": "0",
            "payments-INITIAL_FORMS": "0",
        },
    )

    invoice = Invoice.objects.get(customer=customer)
    assert (invoice.status, invoice.amount) == (InvoiceStatus.DRAFT, Decimal("0.00"))
    assert AuditEvent.objects.filter(
        action=AuditAction.INVOICE_CREATED, target_id=str(invoice.pk)
    ).exists()


def test_staff_without_billing_rights_cannot_run_actions(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["staff"]))
    invoice = invoice_with_lines(status=InvoiceStatus.DRAFT)

    response = run_action(client, INVOICES, "invoice_finalize", invoice)

    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT
    assert response.status_code in (200, 403)
    assert not Payment.objects.exists()


def test_a_draft_is_edited_and_deleted_from_its_pages_through_the_audited_services(
    admin_client,
):
    invoice = invoice_with_lines(status=InvoiceStatus.DRAFT)
    line = invoice.lines.get()
    due = timezone.now() + timedelta(days=60)

    admin_client.post(
        reverse("admin:billing_invoice_change", args=[invoice.pk]),
        {
            "customer": str(invoice.customer_id),
            "due_date": due.strftime("%Y-%m-%d"),
            **draft_lines(
                {
                    "id": line.pk,
                    "order": "2",
                    "quantity": "1",
                    "unit_price": "100.00",
                    "description": line.description,
                },
                {"order": "1", "description": "Setup", "quantity": "2", "unit_price": "12.50"},
            ),
        },
    )
    invoice.refresh_from_db()
    # Due through the end of the day chosen; the new line first, as ordered; the total summed.
    assert timezone.localtime(invoice.due_date).date() == due.date()
    assert invoice.amount == Decimal("125.00")
    assert list(invoice.lines.values_list("description", "position")) == [
        ("Setup", 1),
        (line.description, 2),
    ]

    admin_client.post(reverse("admin:billing_invoice_delete", args=[invoice.pk]), {"post": "yes"})

    assert not Invoice.objects.filter(pk=invoice.pk).exists()
    assert set(
        AuditEvent.objects.filter(target_id=str(invoice.pk)).values_list("action", flat=True)
    ) == {AuditAction.INVOICE_UPDATED, AuditAction.INVOICE_DELETED}


def test_customers_and_products_are_written_through_their_services(admin_client):
    admin_client.post(
        reverse("admin:billing_product_add"),
        {"name": "Retired plan", "description": "", "price": "19.00", "active": "false"},
    )
    customer = CustomerFactory()

    admin_client.post(
        reverse("admin:billing_customer_changelist"),
        {"action": "delete_selected", "_selected_action": [str(customer.pk)], "post": "yes"},
    )

    product = Product.objects.get(name="Retired plan")
    assert (product.price, product.active) == (Decimal("19.00"), False)
    assert Customer.all_objects.get(pk=customer.pk).deleted_at is not None


def test_customer_changes_in_the_admin_are_audited_field_by_field(admin_client):
    admin_client.post(
        reverse("admin:billing_customer_add"),
        {"name": "Acme Ltd", "email": "ap@acme.example", "phone": "", "address": ""},
    )
    customer = Customer.objects.get(email="ap@acme.example")
    admin_client.post(
        reverse("admin:billing_customer_change", args=[customer.pk]),
        {"name": "Acme Limited", "email": "ap@acme.example", "phone": "", "address": ""},
    )
    admin_client.post(reverse("admin:billing_customer_delete", args=[customer.pk]), {"post": "yes"})
    run_action(
        admin_client,
        reverse("admin:billing_customer_changelist") + "?deleted=deleted",
        "restore_selected",
        customer,
    )

    events = AuditEvent.objects.filter(target_id=str(customer.pk)).order_by("occurred_at")
    assert [event.action for event in events] == [
        AuditAction.CUSTOMER_CREATED,
        AuditAction.CUSTOMER_UPDATED,
        AuditAction.CUSTOMER_DELETED,
        AuditAction.CUSTOMER_RESTORED,
    ]
    assert (events[1].before, events[1].after) == ({"name": "Acme Ltd"}, {"name": "Acme Limited"})
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_a_second_customer_with_the_same_address_is_refused(admin_client):
    CustomerFactory(email="ap@acme.example")

    response = admin_client.post(
        reverse("admin:billing_customer_add"),
        {"name": "Acme again", "email": "AP@acme.example", "phone": "", "address": ""},
    )

    assert "A customer with this email address exists" in response.content.decode()
    assert Customer.objects.count() == 1


def test_a_deleted_customers_address_may_be_reused_but_then_it_cannot_be_restored(admin_client):
    old = CustomerFactory(email="ap@acme.example", deleted_at=timezone.now())
    CustomerFactory(email="ap@acme.example")

    response = run_action(
        admin_client,
        reverse("admin:billing_customer_changelist") + "?deleted=deleted",
        "restore_selected",
        old,
    )

    assert "Another customer has this address." in response.content.decode()
    assert Customer.all_objects.get(pk=old.pk).deleted_at is not None


def test_a_partial_payment_leaves_the_invoice_open_and_the_rest_pays_it(admin_client):
    invoice = invoice_with_lines(amount=Decimal("100.00"), status=InvoiceStatus.OPEN)
    url = reverse("admin:billing_invoice_payment", args=[invoice.pk])

    assert 'value="100.00"' in admin_client.get(url).content.decode()
    admin_client.post(url, {"amount": "40.00", "provider": "manual"})
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.OPEN
    too_much = admin_client.post(url, {"amount": "70.00", "provider": "manual"})
    assert "At most 60.00 remains due." in too_much.content.decode()
    admin_client.post(url, {"amount": "60.00", "provider": "bank_transfer"})

    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID
    assert AuditEvent.objects.filter(action=AuditAction.PAYMENT_RECORDED).count() == 2


def test_part_of_a_payment_is_refunded_from_its_page(admin_client):
    invoice = invoice_with_lines(amount=Decimal("100.00"), status=InvoiceStatus.OPEN)
    admin_client.post(
        reverse("admin:billing_invoice_payment", args=[invoice.pk]),
        {"amount": "100.00", "provider": "manual"},
    )
    payment = Payment.objects.get(invoice=invoice)

    admin_client.post(
        reverse("admin:billing_payment_refund", args=[payment.pk]),
        {"amount": "30.00", "reason": "Discount agreed late"},
    )

    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("30.00")
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.OPEN
    assert AuditEvent.objects.filter(action=AuditAction.PAYMENT_REFUNDED).exists()


def test_staff_without_billing_rights_cannot_open_the_payment_page(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["staff"]))
    invoice = invoice_with_lines(status=InvoiceStatus.OPEN)

    response = client.get(reverse("admin:billing_invoice_payment", args=[invoice.pk]))

    assert response.status_code == 403
    assert "You may not open this page" in response.content.decode()


def test_a_finalized_invoice_page_offers_no_save(admin_client):
    invoice = invoice_with_lines(status=InvoiceStatus.OPEN)

    page = admin_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))

    assert 'name="_save"' not in page.content.decode()


def test_a_drafts_date_changes_while_a_line_keeps_a_product_no_longer_sold(admin_client):
    invoice = invoice_with_lines(status=InvoiceStatus.DRAFT)
    line = invoice.lines.get()
    retired = ProductFactory(active=False)
    line.__class__.objects.filter(pk=line.pk).update(product=retired)

    admin_client.post(
        reverse("admin:billing_invoice_change", args=[invoice.pk]),
        {
            "customer": str(invoice.customer_id),
            "due_date": "2031-03-31",
            **draft_lines(
                {
                    "id": line.pk,
                    "order": "1",
                    "product": retired.pk,
                    "description": line.description,
                    "quantity": "1.000",
                    "unit_price": "100.00",
                }
            ),
        },
    )

    invoice.refresh_from_db()
    assert timezone.localtime(invoice.due_date).date().isoformat() == "2031-03-31"
    assert invoice.lines.get().product == retired


def _statement_url(customer) -> str:
    return reverse("admin:billing_customer_statement", args=[customer.pk])


def test_a_customers_page_links_to_a_statement_with_the_apis_figures(admin_client, api):
    customer = CustomerFactory()
    invoice = invoice_with_lines(amount=Decimal("120.00"), status=InvoiceStatus.OPEN)
    Invoice.objects.filter(pk=invoice.pk).update(customer=customer)
    PaymentFactory(invoice=invoice, amount=Decimal("20.50"))
    page = admin_client.get(reverse("admin:billing_customer_change", args=[customer.pk]))
    assert _statement_url(customer) in page.content.decode()
    query = {"start": "2000-01-01", "end": timezone.now().date().isoformat()}

    response = admin_client.get(_statement_url(customer), query)

    shown = response.content.decode()
    figures = api.get(
        f"/api/v1/billing/customers/{customer.pk}/statement",
        {"from": query["start"], "to": query["end"]},
    ).json()
    assert figures["closing_balance"] == "99.50"
    assert "Opening balance" in shown and "Closing balance" in shown
    for entry in figures["entries"]:
        assert entry["reference"] in shown
    assert "120.00" in shown and "20.50" in shown and "99.50" in shown


def test_the_statement_downloads_as_csv(admin_client):
    customer = CustomerFactory()
    invoice = invoice_with_lines(amount=Decimal("40.00"), status=InvoiceStatus.OPEN)
    Invoice.objects.filter(pk=invoice.pk).update(customer=customer)
    PaymentFactory(invoice=invoice, amount=Decimal("15.00"))

    response = admin_client.get(_statement_url(customer), {"download": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(response.content.decode().splitlines()))
    assert rows[0] == ["date", "kind", "reference", "invoice", "debit", "credit", "balance"]
    assert [row[1:] for row in rows[2:]] == [
        ["invoice", invoice.number, invoice.number, "40.00", "", "40.00"],
        ["payment", str(invoice.payments.get().pk), invoice.number, "", "15.00", "25.00"],
        ["closing", "", "", "", "", "25.00"],
    ]
    assert rows[1][1:] == ["opening", "", "", "", "", "0.00"]


def test_a_reversed_period_is_shown_beside_the_field(admin_client):
    response = admin_client.get(
        _statement_url(CustomerFactory()), {"start": "2026-05-02", "end": "2026-05-01"}
    )

    assert response.status_code == 200
    assert "Must be on or after" in response.content.decode()
    assert response.context["statement"] is None


def test_staff_without_billing_rights_cannot_open_a_statement(client, synced_roles):
    client.force_login(StaffUserFactory())

    response = client.get(_statement_url(CustomerFactory()))

    assert response.status_code == 403
