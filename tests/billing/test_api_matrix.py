"""Who may call which billing endpoint, and what every billing list costs: billing managers
everything, staff and a read-only key read only, members nothing, anonymous callers must sign
in. Billing has no per-object visibility: a role either reaches the endpoint or is refused."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus
from billing.services import credit_notes, invoices, sending
from core.context import SYSTEM
from tests.api_matrix import Endpoint, Matrix, Scene, api_key, bearer
from tests.billing.conftest import ROLES
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE
from tests.factories import CustomerFactory, PaymentFactory, ProductFactory

pytestmark = pytest.mark.django_db

# A billing manager's key limited to reading.
READ_SCOPES = (
    "billing.view_customer",
    "billing.view_product",
    "billing.view_invoice",
    "billing.view_payment",
    "billing.view_billing_report",
    "billing.view_creditnote",
    "billing.view_invoicesend",
)
READERS = {"billing_manager", "staff", "read_key"}
WRITERS = {"billing_manager"}


def _due(ids) -> str:
    return timezone.now().isoformat()


def read(name: str, path: str, *, queries: int | None = None, grows: bool = True) -> Endpoint:
    return Endpoint(name, "get", BASE + path, ok=READERS, others=403, queries=queries, grows=grows)


def write(name: str, method: str, path: str, body=None, *, status: int) -> Endpoint:
    return Endpoint(name, method, BASE + path, body, ok=WRITERS, status=status, others=403)


# Every list: the credential lookup (which brings the caller's permissions), then the page.
MATRIX = Matrix(
    callers=("anonymous", "member", "staff", "billing_manager", "read_key"),
    reader="billing_manager",
    endpoints=[
        read("customer list", "/customers", queries=2),
        read("customer read", "/customers/{customer}"),
        # Not a list: its query count is pinned in tests/billing/test_statement.py.
        read("customer statement", "/customers/{customer}/statement?from=2026-01-01"),
        write(
            "customer create",
            "post",
            "/customers",
            {"name": "Acme", "email": "ap@acme.example"},
            status=201,
        ),
        write("customer change", "patch", "/customers/{customer}", {"phone": "+1 555"}, status=200),
        write("customer delete", "delete", "/customers/{customer}", status=204),
        read("product list", "/products", queries=2),
        read("active product list", "/products?active=true", queries=2),
        read("product read", "/products/{product}"),
        write("product create", "post", "/products", {"name": "Seat", "price": "9.50"}, status=201),
        write("product change", "patch", "/products/{product}", {"active": False}, status=200),
        write("product delete", "delete", "/products/{product}", status=204),
        read("invoice list", "/invoices", queries=2),
        read("past due invoice list", "/invoices?past_due=true", queries=2),
        read("open invoice list", "/invoices?status=open", queries=2),
        read("invoice read", "/invoices/{open}"),
        read("invoice pdf", "/invoices/{finalized}/pdf"),
        read("invoice hosted link", "/invoices/{finalized}/hosted-link"),
        read("invoice credit note list", "/invoices/{finalized}/credit-notes", queries=4),
        write(
            "credit note issue",
            "post",
            "/invoices/{finalized}/credit-notes",
            {"amount": "1.00", "reason": "Goodwill"},
            status=201,
        ),
        read("credit note read", "/credit-notes/{credit_note}"),
        read("invoice send list", "/invoices/{finalized}/sends", queries=3),
        write("invoice send", "post", "/invoices/{finalized}/send", status=202),
        write(
            "invoice send elsewhere",
            "post",
            "/invoices/{finalized}/send",
            {"to": "accounts@elsewhere.example"},
            status=202,
        ),
        read("credit note pdf", "/credit-notes/{credit_note}/pdf"),
        write(
            "invoice create",
            "post",
            "/invoices",
            lambda ids: {"customer": ids["customer"], "due_date": _due(ids)},
            status=201,
        ),
        write(
            "invoice change",
            "patch",
            "/invoices/{draft}",
            lambda ids: {"due_date": _due(ids)},
            status=200,
        ),
        write("invoice delete", "delete", "/invoices/{draft}", status=204),
        write("finalize", "post", "/invoices/{draft}/finalize", status=200),
        write("void", "post", "/invoices/{open}/void", status=200),
        write("mark uncollectible", "post", "/invoices/{open}/mark-uncollectible", status=200),
        read("payment list", "/payments", queries=2),
        read("payment read", "/payments/{payment}"),
        write(
            "payment create",
            "post",
            "/payments",
            lambda ids: {"invoice": ids["open"], "amount": "5.00", "provider": "manual"},
            status=201,
        ),
        write("refund", "post", "/payments/{payment}/refund", {"amount": "1.00"}, status=201),
        # Sums per month: more payments this month make no more rows.
        read("revenue report", "/reports/revenue", queries=2, grows=False),
        read("outstanding report", "/reports/outstanding", queries=2),
    ],
)


@pytest.fixture
def scene(synced_roles) -> Scene:
    open_invoice = invoice_with_lines(amount=Decimal("500.00"), status=InvoiceStatus.OPEN)
    manager = ROLES["billing_manager"]()
    # Finalized and credited by the services, so both have their PDFs.
    finalized = invoices.invoice_finalize(
        invoice=invoice_with_lines(status=InvoiceStatus.DRAFT), actor=None, context=SYSTEM
    )
    credit_note = credit_notes.credit_note_issue(
        invoice=finalized, amount=Decimal("1.00"), reason="Goodwill", actor=None, context=SYSTEM
    )
    return Scene(
        ids={
            "customer": str(CustomerFactory().pk),
            "product": str(ProductFactory().pk),
            "draft": str(invoice_with_lines(status=InvoiceStatus.DRAFT).pk),
            "finalized": str(finalized.pk),
            "credit_note": str(credit_note.pk),
            "open": str(open_invoice.pk),
            "payment": str(PaymentFactory(invoice=open_invoice, amount=Decimal("10.00")).pk),
        },
        credentials={
            "anonymous": None,
            "member": bearer(ROLES["member"]()),
            "staff": bearer(ROLES["staff"]()),
            "billing_manager": bearer(manager),
            "read_key": api_key(manager, READ_SCOPES),
        },
    )


def _more_rows() -> None:
    """A row of every kind each billing list shows, past due and part paid."""
    for _ in range(2):
        ProductFactory()
        invoice = invoice_with_lines(
            status=InvoiceStatus.OPEN,
            amount=Decimal("50.00"),
            due_date=timezone.now() - timedelta(days=2),
        )
        PaymentFactory(invoice=invoice, amount=Decimal("20.00"))
    # Each finalized invoice (the scene's) gets a credit note more, and two emails more.
    for finalized in Invoice.objects.filter(pdf_sha256__isnull=False):
        credit_notes.credit_note_issue(
            invoice=finalized, amount=Decimal("1.00"), reason="More", actor=None, context=SYSTEM
        )
        for _ in range(2):
            sending.invoice_send(invoice=finalized, actor=None, context=SYSTEM)


@pytest.mark.parametrize(("endpoint", "caller"), MATRIX.cases())
def test_permission_matrix(scene, endpoint, caller):
    MATRIX.check(scene, endpoint, caller)


@pytest.mark.parametrize("endpoint", MATRIX.lists())
def test_list_query_count_is_pinned_and_does_not_grow_with_rows(
    scene, endpoint, django_assert_num_queries
):
    MATRIX.check_queries(scene, endpoint, _more_rows, django_assert_num_queries)


@pytest.mark.parametrize("caller", MATRIX.callers)
def test_webhooks_answer_to_the_signature_not_the_caller(scene, caller):
    response = scene.client(caller).post(f"{BASE}/webhooks/card/", {"id": "evt"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"


@pytest.mark.parametrize(("endpoint", "name", "kind"), MATRIX.probes())
def test_every_object_a_path_names_must_be_the_callers(scene, endpoint, name, kind):
    MATRIX.check_probe(scene, endpoint, name, kind)
