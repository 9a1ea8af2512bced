"""The audit browser: readable changes, links to what they happened to, filters, CSV."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import audit_display
from core.models import AuditEvent
from tests import factories
from tests.billing.factories import invoice_with_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, synced_roles):
    client.force_login(factories.StaffUserFactory(roles=["admin"]))
    return client


def test_before_and_after_read_as_a_field_diff():
    event = AuditEvent(
        action="invoice.updated",
        before={"status": "draft", "amount": "0.00"},
        after={"status": "open", "amount": "70.00", "number": "INV-2026-000001"},
    )

    assert audit_display.changes_summary(event) == (
        "status: draft → open; amount: 0.00 → 70.00; number: INV-2026-000001"
    )


def test_the_list_names_and_links_the_target_and_filters_by_type(admin_client):
    customer = factories.CustomerFactory(name="Globex")
    AuditEvent.objects.create(
        action="customer.created", target_type="billing.customer", target_id=str(customer.pk)
    )
    AuditEvent.objects.create(action="login.failed", after={"email": "x@example.com"})
    url = reverse("admin:core_auditevent_changelist")

    page = admin_client.get(url, {"target_type": "billing.customer"}).content.decode()

    change_url = reverse("admin:billing_customer_change", args=[customer.pk])
    assert f'<a href="{change_url}">Customer: Globex</a>' in page
    assert 'class="field-action">login.failed' not in page


def test_selected_events_export_as_csv(admin_client):
    event = AuditEvent.objects.create(
        action="user.updated", before={"email": "a@example.com"}, after={"email": "b@example.com"}
    )

    response = admin_client.post(
        reverse("admin:core_auditevent_changelist"),
        {"action": "export_csv", "_selected_action": [str(event.pk)]},
    )

    assert response["Content-Type"].startswith("text/csv")
    assert "email: a@example.com → b@example.com" in response.content.decode()


def test_naming_the_targets_costs_one_query_per_target_type(admin_client):
    url = reverse("admin:core_auditevent_changelist")

    def page_queries() -> int:
        draft = invoice_with_lines(status="draft")
        AuditEvent.objects.create(
            action="invoice.created", target_type="billing.invoice", target_id=str(draft.pk)
        )
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(url).status_code == 200
        return len(queries)

    assert page_queries() == page_queries()
