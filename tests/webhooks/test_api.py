"""The webhook endpoints API: the secret shown once, validation naming fields, the log."""

import pytest
from rest_framework.test import APIClient

from tests.accounts.conftest import session_token_for
from tests.webhooks.conftest import deliver_everything, sign_in_event

pytestmark = pytest.mark.django_db
BASE = "/api/v1/webhook-endpoints"


@pytest.fixture
def api(manager) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(manager)}")
    return client


def test_the_secret_is_in_the_creation_answer_only(api, receiver):
    created = api.post(BASE, {"url": receiver.url, "events": ["session.created"]}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["enabled"] is True and body["ordered"] is True
    shown = api.get(f"{BASE}/{body['id']}").json()
    assert "secret" not in shown

    rotated = api.post(f"{BASE}/{body['id']}/rotate-secret", {}, format="json").json()
    assert rotated["secret"] != body["secret"]
    assert rotated["previous_secret_expires_at"] is not None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "not a url", "events": ["session.created"]}, "url"),
        ({"url": "http://127.0.0.1:8119/", "events": []}, "events"),
        ({"url": "http://127.0.0.1:8119/", "events": ["no.such_type"]}, "events"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, payload, field):
    response = api.post(BASE, payload, format="json")
    assert response.status_code == 400
    assert field in {error["field"].split(".")[0] for error in response.json()["errors"]}


def test_a_change_to_unknown_event_types_is_refused(api, endpoint_for, receiver):
    endpoint, _ = endpoint_for(receiver.url)
    response = api.patch(f"{BASE}/{endpoint.pk}", {"events": ["nope.nope"]}, format="json")
    assert response.status_code == 400


def test_the_delivery_log_shows_status_latency_excerpt_and_attempts(api, endpoint_for, receiver):
    endpoint, _ = endpoint_for(receiver.url)
    sign_in_event()
    deliver_everything()

    (entry,) = api.get(f"{BASE}/{endpoint.pk}/deliveries").json()["results"]
    assert entry["status"] == "delivered"
    assert entry["attempts"] == 1
    assert entry["last_status_code"] == 200
    assert entry["last_latency_ms"] is not None
    assert entry["last_response_excerpt"] == '{"ok": true}'

    resent = api.post(f"{BASE}/{endpoint.pk}/deliveries/{entry['id']}/resend")
    assert resent.status_code == 202
    assert resent.json()["status"] == "pending"
