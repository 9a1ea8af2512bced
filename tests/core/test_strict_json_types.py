"""JSON inputs are strict: a number where the schema documents a string (a text, a UUID, a
choice) is a 400 naming the field, never quietly turned into one."""

import pytest

from tests.billing.conftest import ROLES
from tests.billing.conftest import client_for as billing_client
from tests.chat.conftest import client_for, member_user
from tests.factories import ConversationFactory, ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(synced_roles):
    return member_user("Ana")


def _fields(response) -> list[str]:
    assert response.status_code == 400, response.content
    return [error["field"] for error in response.json()["errors"]]


def test_a_number_for_a_text_is_refused(member):
    room = ConversationFactory()
    ParticipantFactory(conversation=room, user=member)

    response = client_for(member).post(
        f"/api/v1/conversations/{room.pk}/messages", {"content": 123}, format="json"
    )

    assert _fields(response) == ["content"]


def test_a_number_for_a_uuid_in_a_nested_list_is_refused(member):
    response = client_for(member).post(
        "/api/v1/conversations",
        {"title": "Retro", "participants": [{"user_id": 5}]},
        format="json",
    )

    assert _fields(response) == ["participants.0.user_id"]


def test_a_number_for_a_choice_is_refused(member):
    response = client_for(member).post(
        "/api/v1/conversations/00000000-0000-4000-8000-000000000000/messages",
        {"content": "x", "message_type": 1},
        format="json",
    )

    assert _fields(response) == ["message_type"]


def test_model_serializer_bodies_are_strict_too(member, synced_roles):
    manager = billing_client(ROLES["billing_manager"]())

    created = manager.post("/api/v1/billing/customers", {"name": 42}, format="json")
    profile = client_for(member).patch("/api/v1/me/profile", {"bio": 7}, format="json")

    assert _fields(created) == ["name"]
    assert _fields(profile) == ["bio"]


def test_numbers_stay_welcome_where_numbers_are_documented(synced_roles):
    manager = billing_client(ROLES["billing_manager"]())

    response = manager.post(
        "/api/v1/billing/products", {"name": "Seat", "price": 10}, format="json"
    )

    assert response.status_code == 201, response.content
