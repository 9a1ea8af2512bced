"""Webhooks never reach into Atrium's own network: refused when saved and again when sent."""

import pytest

from core.context import SYSTEM
from core.exceptions import ValidationFailed
from tests.webhooks.conftest import deliver_everything, sign_in_event
from webhooks import services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    settings.WEBHOOKS_REQUIRE_HTTPS = True
    return settings


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://10.0.0.1/hooks",
        "https://192.168.1.20/hooks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://localhost/hooks",  # a name resolving to loopback
        "https://0.0.0.0/hooks",
        "http://93.184.215.14/hooks",  # public, but not https
        "https://user:pass@93.184.215.14/hooks",
    ],
)
def test_production_refuses_urls_into_private_networks(production, manager, url):
    with pytest.raises(ValidationFailed) as refused:
        services.endpoint_create(url=url, events=["session.created"], actor=manager, context=SYSTEM)
    assert "url" in refused.value.fields


def test_the_api_names_the_url_field(production, manager, client):
    from rest_framework.test import APIClient

    from tests.accounts.conftest import session_token_for

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(manager)}")
    response = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://169.254.169.254/", "events": ["session.created"]},
        format="json",
    )
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["url"]


def test_the_address_is_checked_again_when_sending(receiver, endpoint_for, production):
    # Saved while loopback was allowed (or while the name pointed elsewhere)...
    production.WEBHOOKS_ALLOW_LOOPBACK = True
    production.WEBHOOKS_REQUIRE_HTTPS = False
    endpoint, _ = endpoint_for(receiver.url)
    # ...and sent once it is not.
    production.WEBHOOKS_ALLOW_LOOPBACK = False
    sign_in_event()
    deliver_everything()

    assert receiver.received == []
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending"
    assert "loopback" in delivery.last_error
