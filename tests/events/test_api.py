"""``GET /api/v1/events``: what a client reads after its cursor."""

import secrets

import pytest
from rest_framework.test import APIClient

from accounts.credentials import digest
from chat.models import Participant
from core import events
from tests.events.conftest import publish
from tests.factories import (
    ApiKeyFactory,
    ApiSessionFactory,
    ConversationFactory,
    DocumentFactory,
    ParticipantFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"
AUTH = 1  # the credential lookup, which brings the user and their permission names


def client_of(user, *, scopes: list[str] | None = None) -> APIClient:
    """A client signed in as ``user`` with a session, or an API key limited to ``scopes``."""
    secret = secrets.token_urlsafe(16)
    client = APIClient()
    if scopes is None:
        ApiSessionFactory(user=user, token=digest(secret))
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    else:
        ApiKeyFactory(user=user, key=digest(secret), scopes=scopes)
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def walk(client, params: dict) -> list[int]:
    """Follows ``next`` from the first page to the last; the event ids in order."""
    ids, response = [], client.get(URL, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [event["id"] for event in body["results"]]
        if body["next"] is None:
            return ids
        response = client.get(body["next"])


@pytest.fixture
def room(member):
    conversation = ConversationFactory()
    reader = member()
    ParticipantFactory(conversation=conversation, user=reader)
    return conversation, reader


def say(conversation, type: str = "message.created") -> int:
    return publish(conversation, events.Audience.conversation(conversation.pk), type)


def test_an_event_reads_with_what_a_client_needs(room):
    conversation, reader = room
    said = publish(
        conversation, events.Audience.conversation(conversation.pk), "message.created", reader
    )
    body = client_of(reader).get(URL).json()
    (event,) = body["results"]
    assert event == {
        "id": said,
        "type": "message.created",
        "occurred_at": event["occurred_at"],
        "object_type": "chat.conversation",
        "object_id": str(conversation.pk),
        "actor_id": str(reader.pk),
        "audience": {"kind": "conversation", "key": str(conversation.pk)},
        "payload": {"id": str(conversation.pk)},
    }
    assert body["after"] == said
    assert body["next"] is None


def test_walking_after_a_cursor_gives_each_event_once_in_order(room):
    conversation, reader = room
    client = client_of(reader)
    first = [say(conversation) for _ in range(7)]
    assert walk(client, {"page_size": 3}) == first

    cursor = client.get(URL, {"page_size": 3}).json()["after"]
    later = [say(conversation) for _ in range(2)]
    assert walk(client, {"after": cursor, "page_size": 3}) == first[3:] + later


def test_an_empty_page_hands_back_the_cursor_it_was_asked_with(room):
    conversation, reader = room
    said = say(conversation)
    body = client_of(reader).get(URL, {"after": said}).json()
    assert body == {"next": None, "after": said, "results": []}


def test_the_type_filter_takes_one_or_several_types(room):
    conversation, reader = room
    created = say(conversation, "message.created")
    edited = say(conversation, "message.edited")
    say(conversation, "reaction.added")
    client = client_of(reader)

    def ids(query: str) -> list[int]:
        return [e["id"] for e in client.get(f"{URL}?{query}").json()["results"]]

    assert ids("type=message.edited") == [edited]
    assert ids("type=message.created&type=message.edited") == [created, edited]
    assert ids("type=message.created,message.edited") == [created, edited]


def test_leaving_hides_the_conversations_events_from_the_api_too(room):
    conversation, reader = room
    say(conversation)
    Participant.objects.filter(conversation=conversation, user=reader).delete()
    assert client_of(reader).get(URL).json()["results"] == []


def test_an_api_key_reads_only_the_kinds_its_scopes_allow(room, member):
    conversation, reader = room
    say(conversation)
    document = DocumentFactory(owner=reader)
    changed = publish(document, events.Audience.document(document.pk), "document.updated")

    results = client_of(reader, scopes=["documents.view_document"]).get(URL).json()["results"]
    assert [e["id"] for e in results] == [changed]


def test_bad_query_parameters_are_a_400_naming_the_field(member):
    response = client_of(member()).get(URL, {"after": "soon", "page_size": 0})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in response.json()["errors"]} == {"after", "page_size"}
    assert client_of(member()).get(URL, {"after": 2**63}).status_code == 400


def test_without_credentials_it_is_a_401():
    assert APIClient().get(URL).status_code == 401


@pytest.mark.parametrize("page_size", [1, 50])
def test_a_page_costs_one_query_whatever_its_size(
    room, staff, page_size, django_assert_num_queries
):
    conversation, reader = room
    for _ in range(page_size + 1):
        say(conversation)
    publish(reader, events.Audience.user(reader.pk), "session.created")
    client = client_of(reader)
    with django_assert_num_queries(AUTH + 1):
        response = client.get(URL, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size
