"""Provider webhooks: only a fresh, correctly signed event changes anything, and only once."""

import json
import time
from decimal import Decimal

import pytest
from django.test import override_settings

from billing.models import InvoiceStatus, Payment, PaymentStatus, WebhookEvent
from core.signing import SIGNATURE_HEADER, signature_header
from tests.billing.factories import invoice_with_lines
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

OLD_SECRET, NEW_SECRET = "whsec_old", "whsec_new"
URL = "/api/v1/billing/webhooks/card/"


@pytest.fixture(autouse=True)
def secrets():
    # Mid-rotation: the provider may sign with either secret.
    with override_settings(BILLING_WEBHOOK_SECRETS={"card": [NEW_SECRET, OLD_SECRET]}):
        yield


@pytest.fixture
def pending_payment():
    invoice = invoice_with_lines(amount=Decimal("80.00"), status=InvoiceStatus.OPEN)
    return PaymentFactory(
        invoice=invoice, amount=Decimal("80.00"), status=PaymentStatus.PENDING, provider="card"
    )


def event(payment, event_type="payment.succeeded", event_id="evt_1") -> bytes:
    body = {"id": event_id, "type": event_type, "data": {"payment_id": str(payment.pk)}}
    return json.dumps(body).encode()


def deliver(client, body: bytes, *, secrets=(NEW_SECRET,), timestamp=None, url=URL, header=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    if header is None:
        header = signature_header(secrets=list(secrets), timestamp=timestamp, body=body)
    return client.post(
        url,
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: header},
    )


def test_a_signed_success_event_settles_the_payment_and_pays_the_invoice(client, pending_payment):
    response = deliver(client, event(pending_payment))

    assert response.status_code == 200, response.content
    assert response.json() == {"outcome": "processed"}
    pending_payment.refresh_from_db()
    assert pending_payment.status == PaymentStatus.SUCCEEDED
    assert pending_payment.invoice.status == InvoiceStatus.PAID


def test_a_failure_event_fails_the_payment(client, pending_payment):
    deliver(client, event(pending_payment, "payment.failed"))

    pending_payment.refresh_from_db()
    assert pending_payment.status == PaymentStatus.FAILED
    assert pending_payment.invoice.status == InvoiceStatus.OPEN


def test_the_old_secret_still_verifies_during_rotation(client, pending_payment):
    assert deliver(client, event(pending_payment), secrets=[OLD_SECRET]).status_code == 200


def test_a_header_with_several_signatures_verifies_if_one_matches(client, pending_payment):
    response = deliver(client, event(pending_payment), secrets=["whsec_unknown", OLD_SECRET])

    assert response.status_code == 200


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body, ts: {"secrets": ["whsec_wrong"]}, id="wrong-secret"),
        # A minute past the tolerance, so a slow test run cannot bring them back inside it.
        pytest.param(lambda body, ts: {"timestamp": ts - 360}, id="too-old"),
        pytest.param(lambda body, ts: {"timestamp": ts + 360}, id="from-the-future"),
        pytest.param(lambda body, ts: {"header": "v1=abc"}, id="no-timestamp"),
        pytest.param(lambda body, ts: {"header": f"t={ts}"}, id="no-signature"),
        pytest.param(lambda body, ts: {"header": ""}, id="missing"),
        pytest.param(
            lambda body, ts: {"url": "/api/v1/billing/webhooks/bank_transfer/"},
            id="provider-without-secrets",
        ),
    ],
)
def test_a_bad_signature_is_a_400_and_changes_nothing(client, pending_payment, tamper):
    body = event(pending_payment)

    response = deliver(client, body, **tamper(body, int(time.time())))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    pending_payment.refresh_from_db()
    assert pending_payment.status == PaymentStatus.PENDING
    assert not WebhookEvent.objects.exists()


def test_a_body_changed_after_signing_is_refused(client, pending_payment):
    body = event(pending_payment)
    header = signature_header(secrets=[NEW_SECRET], timestamp=int(time.time()), body=body)

    response = deliver(client, body.replace(b"succeeded", b"failed"), header=header)

    assert response.status_code == 400


def test_a_timestamp_inside_the_tolerance_is_accepted(client, pending_payment):
    response = deliver(client, event(pending_payment), timestamp=int(time.time()) - 290)

    assert response.status_code == 200


def test_a_replayed_event_is_processed_once(client, pending_payment):
    body = event(pending_payment)
    deliver(client, body)
    Payment.objects.filter(pk=pending_payment.pk).update(status=PaymentStatus.PENDING)

    response = deliver(client, body)

    assert response.json() == {"outcome": "duplicate"}
    assert Payment.objects.get(pk=pending_payment.pk).status == PaymentStatus.PENDING
    assert WebhookEvent.objects.count() == 1


def test_an_unknown_event_type_is_acknowledged_and_ignored(client, pending_payment):
    response = deliver(client, event(pending_payment, "customer.updated"))

    assert response.json() == {"outcome": "ignored"}
    assert Payment.objects.get(pk=pending_payment.pk).status == PaymentStatus.PENDING


def test_an_event_for_an_unknown_payment_is_a_422_and_can_be_retried(client, pending_payment):
    body = json.dumps({"id": "evt_9", "type": "payment.succeeded", "data": {"payment_id": "x"}})

    response = deliver(client, body.encode())

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data.payment_id"
    assert not WebhookEvent.objects.exists()


def test_a_signed_body_that_is_not_an_event_is_a_400(client):
    assert deliver(client, b"[1, 2]").status_code == 400
    assert deliver(client, b"not json").status_code == 400


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        (["payment.succeeded"], {"payment_id": "x"}),
        ({"kind": "payment.succeeded"}, {"payment_id": "x"}),
        ("payment.succeeded", ["not", "an", "object"]),
        ("payment.succeeded", "a string"),
    ],
)
def test_members_of_an_unexpected_json_kind_are_answered_not_a_500(
    client, pending_payment, event_type, data
):
    body = json.dumps({"id": "evt_odd", "type": event_type, "data": data}).encode()

    response = deliver(client, body)

    # A type that is no string names nothing we act on; data that is no object names no payment.
    assert response.status_code in (200, 422), response.content
    pending_payment.refresh_from_db()
    assert pending_payment.status == PaymentStatus.PENDING


def test_a_string_postgresql_cannot_store_is_a_400_naming_its_field(client, pending_payment):
    body = b'{"id": "evt_nul", "type": "payment.succeeded", "data": {"note": "a\\u0000b"}}'

    response = deliver(client, body)

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["data.note"]
    assert not WebhookEvent.objects.filter(event_id="evt_nul").exists()
