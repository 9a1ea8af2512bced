"""What a billing client does, one request each; tests read as the steps a user takes."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from rest_framework.test import APIClient

BASE = "/api/v1/billing"


def a_line(amount: str = "100.00", quantity: str = "1", **extra) -> dict:
    return {"description": "Consulting", "quantity": quantity, "unit_price": amount, **extra}


def create_invoice(api: APIClient, customer, lines=None, due_in_days: int = 30):
    return api.post(
        f"{BASE}/invoices",
        {
            "customer": str(customer.pk),
            "due_date": (timezone.now() + timedelta(days=due_in_days)).isoformat(),
            "lines": [a_line()] if lines is None else lines,
        },
        format="json",
    )


def transition(api: APIClient, invoice_id, action: str):
    return api.post(f"{BASE}/invoices/{invoice_id}/{action}", format="json")


def pay(api: APIClient, invoice_id, amount, *, key: str | None = None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    body = {"invoice": str(invoice_id), "amount": str(amount), "provider": "manual", **extra}
    return api.post(f"{BASE}/payments", body, format="json", **headers)


def refund(api: APIClient, payment_id, amount=None, *, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    body = {} if amount is None else {"amount": str(amount)}
    return api.post(f"{BASE}/payments/{payment_id}/refund", body, format="json", **headers)


def status_of(api: APIClient, invoice_id) -> str:
    return api.get(f"{BASE}/invoices/{invoice_id}").json()["status"]


def money(value: str) -> Decimal:
    return Decimal(value)
