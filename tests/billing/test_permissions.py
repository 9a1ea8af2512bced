"""Who may call which billing endpoint: billing managers everything, staff read only,
members nothing, anonymous callers must sign in. Webhooks answer to signatures alone."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import InvoiceStatus
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE
from tests.factories import CustomerFactory, PaymentFactory, ProductFactory

pytestmark = pytest.mark.django_db

READ, WRITE = "read", "write"


@pytest.fixture
def objects() -> dict[str, str]:
    open_invoice = invoice_with_lines(amount=Decimal("500.00"), status=InvoiceStatus.OPEN)
    return {
        "customer": str(CustomerFactory().pk),
        "product": str(ProductFactory().pk),
        "draft": str(invoice_with_lines(status=InvoiceStatus.DRAFT).pk),
        "open": str(open_invoice.pk),
        "payment": str(PaymentFactory(invoice=open_invoice, amount=Decimal("10.00")).pk),
    }


def _due() -> str:
    return timezone.now().isoformat()


# (kind, method, path, body); {name} is replaced by the id of objects[name].
ENDPOINTS = [
    (READ, "get", "/customers", None),
    (READ, "get", "/customers/{customer}", None),
    (WRITE, "post", "/customers", {"name": "Acme", "email": "ap@acme.example"}),
    (WRITE, "patch", "/customers/{customer}", {"phone": "+1 555"}),
    (WRITE, "delete", "/customers/{customer}", None),
    (READ, "get", "/products", None),
    (READ, "get", "/products/{product}", None),
    (WRITE, "post", "/products", {"name": "Seat", "price": "9.50"}),
    (WRITE, "patch", "/products/{product}", {"active": False}),
    (WRITE, "delete", "/products/{product}", None),
    (READ, "get", "/invoices", None),
    (READ, "get", "/invoices?past_due=true", None),
    (READ, "get", "/invoices/{open}", None),
    (WRITE, "post", "/invoices", lambda o: {"customer": o["customer"], "due_date": _due()}),
    (WRITE, "patch", "/invoices/{draft}", lambda o: {"due_date": _due()}),
    (WRITE, "delete", "/invoices/{draft}", None),
    (WRITE, "post", "/invoices/{draft}/finalize", None),
    (WRITE, "post", "/invoices/{open}/void", None),
    (WRITE, "post", "/invoices/{open}/mark-uncollectible", None),
    (READ, "get", "/payments", None),
    (READ, "get", "/payments/{payment}", None),
    (
        WRITE,
        "post",
        "/payments",
        lambda o: {"invoice": o["open"], "amount": "5.00", "provider": "manual"},
    ),
    (WRITE, "post", "/payments/{payment}/refund", {"amount": "1.00"}),
    (READ, "get", "/reports/revenue", None),
    (READ, "get", "/reports/outstanding", None),
]
# What each role is answered: by kind of endpoint.
EXPECTED = {
    "billing_manager": {READ: "ok", WRITE: "ok"},
    "staff": {READ: "ok", WRITE: 403},
    "member": {READ: 403, WRITE: 403},
    "anonymous": {READ: 401, WRITE: 401},
}
CASES = [
    pytest.param(role, endpoint, id=f"{role}-{endpoint[1]}-{endpoint[2]}")
    for role in EXPECTED
    for endpoint in ENDPOINTS
]


@pytest.mark.parametrize(("role", "endpoint"), CASES)
def test_permission_matrix(as_role, objects, role, endpoint):
    kind, method, path, body = endpoint
    client = as_role(role)
    body = body(objects) if callable(body) else body

    response = getattr(client, method)(BASE + path.format(**objects), body, format="json")

    expected = EXPECTED[role][kind]
    if expected == "ok":
        assert response.status_code in (200, 201, 204), response.content
    else:
        assert response.status_code == expected, response.content


@pytest.mark.parametrize("role", EXPECTED)
def test_webhooks_answer_to_the_signature_not_the_caller(as_role, role):
    response = as_role(role).post(f"{BASE}/webhooks/card/", {"id": "evt"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"


def test_a_missing_object_is_a_404(as_role):
    response = as_role("billing_manager").get(f"{BASE}/invoices/{CustomerFactory().pk}")

    assert response.status_code == 404


def test_a_deleted_customer_is_gone_from_the_api_but_kept(as_role):
    customer = CustomerFactory()
    client = as_role("billing_manager")

    client.delete(f"{BASE}/customers/{customer.pk}")

    assert client.get(f"{BASE}/customers/{customer.pk}").status_code == 404
    customer.refresh_from_db()
    assert customer.is_deleted
