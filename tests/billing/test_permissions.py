"""Billing objects that are missing or deleted answer 404 (who may call which endpoint is
declared in test_api_matrix.py)."""

import pytest

from tests.billing.steps import BASE
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


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
