import factory
from factory.django import DjangoModelFactory

from core.models import Event


class EventFactory(DjangoModelFactory):
    """A row as core.events.publish writes it (tests that exercise publishing call it)."""

    class Meta:
        model = Event

    type = "document.updated"
    object_type = "documents.document"
    object_id = factory.Faker("uuid4")
    audience_kind = "document"
    audience_key = factory.SelfAttribute("object_id")
    payload = factory.Dict({"version": 2})
