import factory
from factory.django import DjangoModelFactory

from core import crypto
from tests.factories import UserFactory
from webhooks.models import WebhookCursor, WebhookDelivery, WebhookEndpoint

SECRET = "whsec_test-secret"


class WebhookEndpointFactory(DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"http://127.0.0.1:8119/hooks/{n}")
    events = ["session.created"]
    secret = factory.LazyFunction(lambda: crypto.encrypt(SECRET))
    owner = factory.SubFactory(UserFactory)


class WebhookDeliveryFactory(DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event_id = factory.Sequence(lambda n: n + 1)
    event_type = "session.created"


class WebhookCursorFactory(DjangoModelFactory):
    class Meta:
        model = WebhookCursor
        django_get_or_create = ("id",)

    id = 1
