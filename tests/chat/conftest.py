"""A conversation with one person in each position the chat rules tell apart, each with an
API client signed in with a real bearer token."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from chat.models import Conversation, ParticipantRole
from chat.services import conversations, participants
from core.context import SYSTEM
from tests.accounts.conftest import session_token_for
from tests.factories import UserFactory, UserProfileFactory


def member_user(name: str) -> User:
    """A signed-up person: a profile and the ``member`` role (as registration gives)."""
    user = UserFactory(email=f"{name.lower()}@example.com", roles=["member"])
    UserProfileFactory(user=user, display_name=name)
    return user


def client_for(user: User) -> APIClient:
    token = session_token_for(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@dataclass
class Room:
    conversation: Conversation
    owner: User
    admin: User
    member: User
    former: User
    stranger: User

    @property
    def id(self):
        return self.conversation.pk

    def url(self, suffix: str = "") -> str:
        return f"/api/v1/conversations/{self.conversation.pk}{suffix}"

    def client(self, who: str) -> APIClient:
        return client_for(getattr(self, who))


@pytest.fixture
def people(synced_roles):
    return member_user


@pytest.fixture
def room(people) -> Room:
    """ "Launch": Ana owns it, Ben is an admin, Chloé a member; Dev was a member and left;
    Eve was never in it."""
    owner, admin, member, former, stranger = (
        people(name) for name in ("Ana", "Ben", "Chloé", "Dev", "Eve")
    )
    conversation = conversations.conversation_create(
        creator=owner,
        title="Launch",
        participants=[
            (admin, ParticipantRole.ADMIN),
            (member, ParticipantRole.MEMBER),
            (former, ParticipantRole.MEMBER),
        ],
        context=SYSTEM,
    )
    participants.participant_leave(conversation_id=conversation.pk, actor=former, context=SYSTEM)
    return Room(conversation, owner, admin, member, former, stranger)


@pytest.fixture
def as_(room):
    """``as_("owner")``: an API client signed in as that person of the room."""
    clients = {}

    def get(who: str) -> APIClient:
        if who not in clients:
            clients[who] = room.client(who)
        return clients[who]

    return get


def post(client: APIClient, room: Room, content: str = "Hello", **fields) -> dict:
    response = client.post(room.url("/messages"), {"content": content, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()
