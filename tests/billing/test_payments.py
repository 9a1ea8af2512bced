"""Payments and refunds through the API: partial payments, no overpayment, refunds,
idempotency keys."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.models import InvoiceStatus, Payment, PaymentStatus
from core.models import AuditAction, AuditEvent, IdempotencyKey
from tests.billing.conftest import client_for
from tests.billing.factories import invoice_with_lines
from tests.billing.steps import BASE, pay, refund, status_of
from tests.factories import IdempotencyKeyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice():
    return invoice_with_lines(amount=Decimal("100.00"), status=InvoiceStatus.OPEN)


def test_partial_payments_add_up_and_the_last_one_pays_the_invoice(api, invoice):
    first = pay(api, invoice.pk, "30.10")
    assert status_of(api, invoice.pk) == "open"
    second = pay(api, invoice.pk, "69.90")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["amount"] == "69.90"
    assert status_of(api, invoice.pk) == "paid"


def test_a_payment_exceeding_what_remains_is_refused(api, invoice):
    pay(api, invoice.pk, "60.00")

    response = pay(api, invoice.pk, "40.01")

    assert response.status_code == 409
    assert response.json()["remaining"] == "40.00"
    assert response.json()["errors"][0]["field"] == "amount"
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-5.00", "1.001", "abc"])
def test_a_payment_amount_must_be_a_positive_cent_amount(api, invoice, amount):
    response = pay(api, invoice.pk, amount)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "amount"


def test_a_pending_payment_holds_its_amount_until_the_provider_answers(api, invoice):
    pay(api, invoice.pk, "60.00", status="pending")

    refused = pay(api, invoice.pk, "50.00")

    assert refused.status_code == 409
    assert status_of(api, invoice.pk) == "open"


def test_a_failed_payment_is_recorded_but_pays_nothing(api, invoice):
    response = pay(api, invoice.pk, "100.00", status="failed")

    assert response.json()["status"] == "failed"
    assert status_of(api, invoice.pk) == "open"
    assert pay(api, invoice.pk, "100.00").status_code == 201


def test_recording_a_payment_is_audited(api, manager, invoice):
    payment_id = pay(api, invoice.pk, "10.00").json()["id"]

    event = AuditEvent.objects.get(action=AuditAction.PAYMENT_RECORDED, target_id=payment_id)
    assert event.actor == manager
    assert event.after["amount"] == "10.00"


# --- refunds --------------------------------------------------------------------------------


def test_a_partial_refund_reopens_a_paid_invoice(api, invoice):
    payment_id = pay(api, invoice.pk, "100.00").json()["id"]

    response = refund(api, payment_id, "25.00")

    assert response.status_code == 201, response.content
    assert status_of(api, invoice.pk) == "open"
    payment = api.get(f"{BASE}/payments/{payment_id}").json()
    assert (payment["refunded_amount"], payment["status"]) == ("25.00", "succeeded")
    # What was refunded may be paid again, and then the invoice is paid once more.
    assert pay(api, invoice.pk, "25.00").status_code == 201
    assert status_of(api, invoice.pk) == "paid"


def test_a_refund_without_amount_gives_back_all_that_is_left(api, invoice):
    payment_id = pay(api, invoice.pk, "40.00").json()["id"]
    refund(api, payment_id, "15.00")

    response = refund(api, payment_id)

    assert response.json()["amount"] == "25.00"
    assert api.get(f"{BASE}/payments/{payment_id}").json()["status"] == "refunded"


def test_never_more_is_refunded_than_was_paid(api, invoice):
    payment_id = pay(api, invoice.pk, "40.00").json()["id"]
    refund(api, payment_id, "30.00")

    response = refund(api, payment_id, "10.01")

    assert response.status_code == 409
    assert response.json()["refundable"] == "10.00"
    assert Payment.objects.get(pk=payment_id).refunded_amount == Decimal("30.00")


def test_a_failed_payment_cannot_be_refunded(api, invoice):
    payment_id = pay(api, invoice.pk, "40.00", status="failed").json()["id"]

    response = refund(api, payment_id, "1.00")

    assert response.status_code == 409
    assert response.json()["current_status"] == "failed"


def test_refunds_are_audited(api, manager, invoice):
    payment_id = pay(api, invoice.pk, "100.00").json()["id"]

    refund(api, payment_id, "5.00")

    assert AuditEvent.objects.filter(
        action=AuditAction.PAYMENT_REFUNDED, target_id=payment_id, actor=manager
    ).exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.INVOICE_REOPENED, target_id=str(invoice.pk)
    ).exists()


# --- idempotency ----------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_returns_the_first_answer(api, invoice):
    first = pay(api, invoice.pk, "10.00", key="retry-1")

    again = pay(api, invoice.pk, "10.00", key="retry-1")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api, invoice):
    pay(api, invoice.pk, "10.00", key="retry-2")

    response = pay(api, invoice.pk, "11.00", key="retry-2")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert Payment.objects.count() == 1


def test_keys_belong_to_one_user(api, invoice, as_role):
    other = as_role("billing_manager")
    pay(api, invoice.pk, "10.00", key="shared-name")

    response = pay(other, invoice.pk, "10.00", key="shared-name")

    assert response.status_code == 201
    assert Payment.objects.count() == 2


def test_a_refused_request_stores_nothing_so_its_retry_runs_again(api, invoice):
    pay(api, invoice.pk, "95.00")
    assert pay(api, invoice.pk, "10.00", key="k").status_code == 409
    Payment.objects.update(status=PaymentStatus.FAILED)

    assert pay(api, invoice.pk, "10.00", key="k").status_code == 201


def test_refunds_take_idempotency_keys_too(api, invoice):
    payment_id = pay(api, invoice.pk, "50.00").json()["id"]

    first = refund(api, payment_id, "5.00", key="refund-1")
    again = refund(api, payment_id, "5.00", key="refund-1")

    assert again.json() == first.json()
    assert Payment.objects.get(pk=payment_id).refunded_amount == Decimal("5.00")


def test_an_over_long_key_is_a_400_naming_the_header(api, invoice):
    response = pay(api, invoice.pk, "10.00", key="k" * 256)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_purge_removes_keys_older_than_a_day_only(db):
    old, fresh = IdempotencyKeyFactory(), IdempotencyKeyFactory()
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))

    call_command("purge_idempotency_keys", verbosity=0)

    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_purge_dry_run_removes_nothing(db):
    old = IdempotencyKeyFactory()
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))

    call_command("purge_idempotency_keys", "--dry-run", verbosity=0)

    assert IdempotencyKey.objects.filter(pk=old.pk).exists()


def test_a_client_without_the_permission_cannot_record_payments(invoice, synced_roles):
    from tests.factories import StaffUserFactory

    staff = client_for(StaffUserFactory(roles=["staff"]))

    assert pay(staff, invoice.pk, "10.00").status_code == 403
