"""Who may do what, for every chat endpoint: the owner, an admin, a member, a former
participant and a stranger. Only participants see a conversation or anything in it; everyone
else gets 404, so conversation and message ids cannot be probed. Participants who may see but
not change something get 403."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from accounts.services import credentials as account_credentials
from core.context import SYSTEM
from tests.chat.conftest import post

pytestmark = pytest.mark.django_db

WHO = ("owner", "admin", "member", "former", "stranger")


@dataclass
class Scene:
    room: object
    message: dict  # written by the member, reacted to with 👍 by owner, admin and member
    other_member: object
    newcomer: object


@pytest.fixture
def scene(room, as_, people) -> Scene:
    message = post(as_("member"), room, "Draft of the launch post")
    for who in ("owner", "admin", "member"):
        as_(who).post(
            room.url(f"/messages/{message['id']}/reactions"), {"emoji": "👍"}, format="json"
        )
    gil = people("Gil")
    as_("owner").post(room.url("/participants"), {"user_id": str(gil.pk)}, format="json")
    return Scene(room, message, gil, people("Hal"))


# name -> (method, path, body, expected status for owner, admin, member, former, stranger)
def _endpoints(s: Scene) -> dict[str, tuple]:
    m = f"/messages/{s.message['id']}"
    return {
        "list conversations": ("get", "/api/v1/conversations", None, (200,) * 5),
        "create conversation": ("post", "/api/v1/conversations", {"title": "x"}, (201,) * 5),
        "read conversation": ("get", s.room.url(), None, (200, 200, 200, 404, 404)),
        "rename": ("patch", s.room.url(), {"title": "y"}, (200, 200, 403, 404, 404)),
        "delete conversation": ("delete", s.room.url(), None, (204, 403, 403, 404, 404)),
        "mark read": (
            "post",
            s.room.url("/read"),
            {"message_id": s.message["id"]},
            (200, 200, 200, 404, 404),
        ),
        # The owner is the last owner.
        "leave": ("post", s.room.url("/leave"), None, (409, 204, 204, 404, 404)),
        "list participants": ("get", s.room.url("/participants"), None, (200, 200, 200, 404, 404)),
        "add participant": (
            "post",
            s.room.url("/participants"),
            {"user_id": str(s.newcomer.pk)},
            (201, 201, 403, 404, 404),
        ),
        "change role": (
            "patch",
            s.room.url(f"/participants/{s.other_member.pk}"),
            {"role": "admin"},
            (200, 403, 403, 404, 404),
        ),
        "remove participant": (
            "delete",
            s.room.url(f"/participants/{s.other_member.pk}"),
            None,
            (204, 204, 403, 404, 404),
        ),
        "list messages": ("get", s.room.url("/messages"), None, (200, 200, 200, 404, 404)),
        "messages since": (
            "get",
            s.room.url("/messages?since=2000-01-01T00:00:00Z"),
            None,
            (200, 200, 200, 404, 404),
        ),
        "messages before": (
            "get",
            s.room.url(f"/messages?before={s.message['id']}"),
            None,
            (200, 200, 200, 404, 404),
        ),
        "post message": (
            "post",
            s.room.url("/messages"),
            {"content": "hi"},
            (201, 201, 201, 404, 404),
        ),
        "read message": ("get", s.room.url(m), None, (200, 200, 200, 404, 404)),
        # The member wrote it.
        "edit message": ("patch", s.room.url(m), {"content": "z"}, (403, 403, 200, 404, 404)),
        "delete message": ("delete", s.room.url(m), None, (204, 204, 204, 404, 404)),
        "thread": ("get", s.room.url(f"{m}/thread"), None, (200, 200, 200, 404, 404)),
        "edit history": ("get", s.room.url(f"{m}/edits"), None, (200, 200, 200, 404, 404)),
        "react": (
            "post",
            s.room.url(f"{m}/reactions"),
            {"emoji": "🎉"},
            (201, 201, 201, 404, 404),
        ),
        "take reaction back": (
            "delete",
            s.room.url(f"{m}/reactions/👍"),
            None,
            (204, 204, 204, 404, 404),
        ),
        "search": ("get", "/api/v1/messages/search?q=launch", None, (200,) * 5),
    }


class _Placeholder:
    """Stands in for the scene's rows when only the endpoint names are needed."""

    pk = id = "x"

    def url(self, suffix: str = "") -> str:
        return suffix


ENDPOINTS = sorted(_endpoints(Scene(_Placeholder(), {"id": "x"}, _Placeholder(), _Placeholder())))
CASES = [(endpoint, who) for endpoint in ENDPOINTS for who in WHO]


@pytest.mark.parametrize(("endpoint", "who"), CASES, ids=[f"{e}-{w}" for e, w in CASES])
def test_permission_matrix(scene, as_, endpoint, who):
    method, path, body, expected = _endpoints(scene)[endpoint]

    response = getattr(as_(who), method)(path, body, format="json")

    assert response.status_code == expected[WHO.index(who)], response.content


@pytest.mark.parametrize("who", WHO)
def test_lists_show_the_conversation_and_its_messages_to_participants_only(scene, as_, who):
    client = as_(who)
    participant = who in ("owner", "admin", "member")

    conversations = client.get("/api/v1/conversations").json()["results"]
    found = client.get("/api/v1/messages/search", {"q": "launch"}).json()["results"]

    assert (str(scene.room.id) in [c["id"] for c in conversations]) is participant
    assert (scene.message["id"] in [m["id"] for m in found]) is participant


def test_a_not_found_says_nothing_of_the_conversation(scene, as_):
    stranger = as_("stranger").get(scene.room.url("/messages")).json()
    missing = (
        as_("stranger")
        .get("/api/v1/conversations/00000000-0000-4000-8000-000000000000/messages")
        .json()
    )

    assert {k: v for k, v in stranger.items() if k != "instance"} == {
        k: v for k, v in missing.items() if k != "instance"
    }


def test_an_api_key_without_chat_scopes_reads_no_chat(scene):
    _, key = account_credentials.api_key_create(
        user=scene.room.member,
        name="docs only",
        scopes=["documents.view_document"],
        context=SYSTEM,
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    assert client.get(scene.room.url("/messages")).status_code == 403
    assert client.get("/api/v1/conversations").status_code == 403


def test_without_credentials_every_endpoint_is_a_401(scene):
    anonymous = APIClient()
    for method, path, body, _ in _endpoints(scene).values():
        assert getattr(anonymous, method)(path, body, format="json").status_code == 401, path
