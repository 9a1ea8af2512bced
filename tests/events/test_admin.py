"""The event log in the staff console: readable, never writable."""

import pytest

from core import events
from tests.events.conftest import publish
from tests.factories import ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_find_an_objects_events_newest_first(console):
    conversation = ConversationFactory()
    first = publish(conversation, events.Audience.conversation(conversation.pk), "message.created")
    second = publish(conversation, events.Audience.conversation(conversation.pk), "message.edited")
    other = ConversationFactory()
    publish(other, events.Audience.conversation(other.pk), "conversation.updated")

    page = console.get("/admin/core/event/", {"q": str(conversation.pk)})
    assert page.status_code == 200
    listed = [row.pk for row in page.context["cl"].result_list]
    assert listed == [second, first]

    detail = console.get(f"/admin/core/event/{first}/change/")
    assert detail.status_code == 200
    assert b"message.created" in detail.content
    assert b'name="_save"' not in detail.content


def test_the_log_cannot_be_added_to_or_deleted_from_the_console(console):
    conversation = ConversationFactory()
    said = publish(conversation, events.Audience.conversation(conversation.pk))
    assert console.get("/admin/core/event/add/").status_code == 403
    assert console.post(f"/admin/core/event/{said}/delete/", {"post": "yes"}).status_code == 403
