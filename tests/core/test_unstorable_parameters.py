"""A query or path parameter PostgreSQL cannot store (a NUL, ``%00``) is a 400 naming it, on
every reader that takes it to the database: query serializers, filters, plain reads."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.chat.conftest import client_for, member_user
from tests.factories import ConversationFactory, MessageFactory, ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(synced_roles):
    return member_user("Ana")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/users?search=a%00b", "search"),
        ("/api/v1/documents/search?q=a%00b", "q"),
        ("/api/v1/messages/search?q=a%00b", "q"),
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(member, path, name):
    response = client_for(member).get(path)

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == [name]


def test_a_nul_in_a_path_parameter_is_a_400_naming_it(member):
    room = ConversationFactory()
    ParticipantFactory(conversation=room, user=member)
    message = MessageFactory(conversation=room, sender=member)

    response = client_for(member).delete(
        f"/api/v1/conversations/{room.pk}/messages/{message.pk}/reactions/a%00b"
    )

    assert response.status_code == 400, response.content
    assert [error["field"] for error in response.json()["errors"]] == ["emoji"]


def test_the_schema_says_so_where_a_path_parameter_is_free_text():
    schema = SchemaGenerator().get_schema(public=True)
    reactions = "/api/v1/conversations/{conversation_pk}/messages/{id}/reactions/{emoji}"

    assert "400" in schema["paths"][reactions]["delete"]["responses"]
    # A UUID or a number never reaches the database with a NUL: the route does not match.
    assert "400" not in schema["paths"]["/api/v1/documents/{document_id}"]["get"]["responses"]
