"""Events reach subscribed endpoints, signed, once each, in order, retried with backoff."""

import hashlib
import hmac
import json
import time

import pytest
from django.core import mail
from rest_framework.test import APIClient

from core.context import SYSTEM
from core.models import Event
from tests.jobs import run_queued_jobs
from tests.webhooks.conftest import deliver_everything, sign_in_event
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.tasks import sweep

pytestmark = pytest.mark.django_db


def verify_as_documented(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The verification recipe of docs/webhooks.md, line for line."""
    items = [item.split("=", 1) for item in header.split(",")]
    timestamp = next(value for name, value in items if name == "t")
    signatures = [value for name, value in items if name == "v1"]
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and any(hmac.compare_digest(expected, s) for s in signatures)


def _api_event(event_id: int, api) -> dict:
    page = api.get("/api/v1/events", {"after": event_id - 1, "page_size": 1}).json()
    return page["results"][0]


def test_a_subscribed_event_arrives_signed_as_the_events_api_serves_it(
    receiver, endpoint_for, manager
):
    endpoint, secret = endpoint_for(receiver.url, events=["session.created"])
    sign_in_event(manager)
    deliver_everything()

    (received,) = receiver.received
    event = Event.objects.get(type="session.created")
    assert received.headers["Atrium-Event-Id"] == str(event.pk)
    assert verify_as_documented(secret, received.headers["Atrium-Signature"], received.body)
    assert not verify_as_documented(
        "whsec_wrong", received.headers["Atrium-Signature"], received.body
    )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)

    from rest_framework.test import APIClient

    from tests.accounts.conftest import session_token_for

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(manager)}")
    assert json.loads(received.body) == _api_event(event.pk, api)


def test_only_subscribed_types_and_only_events_after_the_endpoint_exists(receiver, endpoint_for):
    sign_in_event()  # before the endpoint: never delivered
    endpoint, _ = endpoint_for(receiver.url, events=["api_key.created"])
    sign_in_event()  # a type it did not ask for
    deliver_everything()

    assert receiver.received == []
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()


def test_a_receiver_answering_500_twice_then_200_gets_the_same_event_three_times(
    receiver, endpoint_for, settings
):
    settings.WEBHOOKS_FIRST_RETRY_SECONDS = 0  # retries due at once; the sweep brings them
    receiver.statuses = [500, 500]
    endpoint, _ = endpoint_for(receiver.url)
    sign_in_event()
    deliver_everything()
    for _ in range(2):
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert delivery.status == DeliveryStatus.PENDING
        sweep(timestamp=0)
        deliver_everything()

    ids = [received.headers["Atrium-Event-Id"] for received in receiver.received]
    assert len(ids) == 3 and len(set(ids)) == 1
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_failed_delivery_waits_with_backoff_and_holds_back_the_later_ones(receiver, endpoint_for):
    receiver.statuses = [503]
    endpoint, _ = endpoint_for(receiver.url)
    sign_in_event()
    sign_in_event()
    deliver_everything()
    sweep(timestamp=0)  # nothing is due yet: the first retry waits 10 s
    deliver_everything()

    assert len(receiver.received) == 1
    first, second = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("event_id")
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 503)
    assert 9 <= (first.next_attempt_at - first.created_at).total_seconds() <= 12
    assert (second.status, second.attempts) == ("pending", 0)


def test_an_unordered_endpoint_is_not_held_back_by_a_failing_event(receiver, endpoint_for):
    receiver.statuses = [503]
    endpoint, _ = endpoint_for(receiver.url, ordered=False)
    sign_in_event()
    sign_in_event()
    deliver_everything()  # the first fails and ends the run
    sweep(timestamp=0)
    deliver_everything()  # the second is due, the first is waiting for its retry

    statuses = list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .order_by("event_id")
        .values_list("status", flat=True)
    )
    assert statuses == ["pending", "delivered"]


def test_during_a_rotation_both_secrets_sign(receiver, endpoint_for, manager):
    endpoint, old = endpoint_for(receiver.url)
    endpoint, new = services.endpoint_rotate_secret(
        endpoint=endpoint, actor=manager, context=SYSTEM
    )
    sign_in_event()
    deliver_everything()

    (received,) = receiver.received
    header = received.headers["Atrium-Signature"]
    assert verify_as_documented(old, header, received.body)
    assert verify_as_documented(new, header, received.body)
    assert header.count("v1=") == 2


def test_after_the_overlap_only_the_new_secret_signs(receiver, endpoint_for, manager):
    from datetime import timedelta

    endpoint, old = endpoint_for(receiver.url)
    endpoint, new = services.endpoint_rotate_secret(
        endpoint=endpoint, overlap=timedelta(0), actor=manager, context=SYSTEM
    )
    sign_in_event()
    deliver_everything()

    header = receiver.received[0].headers["Atrium-Signature"]
    assert verify_as_documented(new, header, receiver.received[0].body)
    assert not verify_as_documented(old, header, receiver.received[0].body)


def test_an_endpoint_failing_n_times_in_a_row_is_disabled_and_its_owner_emailed(
    receiver, endpoint_for, manager, settings
):
    settings.WEBHOOKS_FIRST_RETRY_SECONDS = 0
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 2
    receiver.statuses = [500, 500]
    endpoint, _ = endpoint_for(receiver.url)
    sign_in_event()
    deliver_everything()
    sweep(timestamp=0)
    deliver_everything()
    sweep(timestamp=0)
    deliver_everything()

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.consecutive_failures) == (False, 2)
    assert len(receiver.received) == 2
    assert [message.to for message in mail.outbox] == [[manager.email]]
    assert endpoint.url in mail.outbox[0].body
    # The event carries the endpoint as the API now answers it: disabled, with the reason.
    disabled = Event.objects.get(type="webhook_endpoint.disabled")
    api = APIClient()
    api.force_authenticate(manager)
    assert disabled.payload == api.get(f"/api/v1/webhook-endpoints/{endpoint.pk}").json()
    assert disabled.payload["enabled"] is False

    services.endpoint_update(endpoint=endpoint, enabled=True, actor=manager, context=SYSTEM)
    sweep(timestamp=0)
    deliver_everything()
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "delivered"


def test_each_event_is_dispatched_once_however_often_the_dispatcher_runs(receiver, endpoint_for):
    endpoint, _ = endpoint_for(receiver.url)
    sign_in_event()
    read, endpoints = services.deliveries_dispatch()
    assert read >= 1 and endpoints == {endpoint.pk}
    assert services.deliveries_dispatch() == (0, set())
    run_queued_jobs()
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    assert len(receiver.received) == 1


def test_resend_sends_a_delivered_event_again(receiver, endpoint_for, manager):
    endpoint, _ = endpoint_for(receiver.url)
    sign_in_event()
    deliver_everything()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    services.delivery_resend(delivery=delivery, actor=manager, context=SYSTEM)
    deliver_everything()

    assert len(receiver.received) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
