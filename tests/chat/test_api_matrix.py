"""Who may do what, for every chat endpoint, and what every chat list costs.

The callers: the owner, an admin, a member, a former participant and a stranger of the
conversation; staff (who may view chat by role but take part in nothing); a user without any
role; the owner's API key limited to reading chat, and the member's limited to documents. Only
participants see a conversation or anything in it; everyone else gets 404, so conversation and
message ids cannot be probed. Participants who may see but not change something get 403, and
so does a caller whose role or key does not grant the action, before anything is looked up."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from chat.models import Conversation, Message, ParticipantRole
from chat.services import conversations, messages
from core.context import SYSTEM
from tests.api_matrix import Endpoint, Matrix, Scene, api_key, bearer
from tests.chat.conftest import post
from tests.chat.factories import MessageEditFactory
from tests.factories import (
    ConversationFactory,
    MessageFactory,
    ParticipantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PARTICIPANTS = {"owner", "admin", "member"}
SIGNED_UP = {*PARTICIPANTS, "former", "stranger"}
READ_SCOPES = ("chat.view_conversation", "chat.view_message")
# Refused by role or scope whatever the action: chat needs chat permissions.
NO_CHAT = {"no_role", "docs_key"}
# Views by role alone; never holds chat.add_conversation or chat.add_message.
VIEW_ONLY = {"staff", "read_key"}


def chat(
    name,
    method,
    path,
    body=None,
    *,
    perm="view",
    ok=PARTICIPANTS,
    status=200,
    forbidden=(),
    exact=None,
    queries=None,
):
    """An endpoint inside a conversation. ``perm`` is the kind of chat permission the action
    needs: "view" (held by staff and the read key, which acts as the owner), "add" (the
    participants' own writing) or "change" (renaming, deleting, leaving, managing people:
    held by members and staff, never by the read key)."""
    ok, forbidden, exact = set(ok), set(forbidden) | NO_CHAT, dict(exact or {})
    if perm == "add":
        forbidden |= VIEW_ONLY
    elif perm == "change":
        forbidden.add("read_key")
    else:
        # The key acts as the owner whose it is.
        if "owner" in ok:
            ok.add("read_key")
        elif "owner" in forbidden:
            forbidden.add("read_key")
        elif "owner" in exact:
            exact["read_key"] = exact["owner"]
    return Endpoint(
        name,
        method,
        path,
        body,
        ok=ok,
        status=status,
        forbidden=forbidden,
        exact=exact,
        queries=queries,
    )


def collection(name, method, path, body=None, *, perm="view", status=200, queries=None):
    """An endpoint over the caller's own conversations or messages."""
    ok = SIGNED_UP | (VIEW_ONLY if perm == "view" else set())
    return Endpoint(name, method, path, body, ok=ok, status=status, others=403, queries=queries)


ROOM = "/api/v1/conversations/{room}"
MESSAGE = ROOM + "/messages/{message}"

# Every list: the credential lookup (which brings the user and its permission names), then
# the page; participants and edits first check the caller's membership.
MATRIX = Matrix(
    callers=(
        "anonymous",
        "owner",
        "admin",
        "member",
        "former",
        "stranger",
        "staff",
        "no_role",
        "read_key",
        "docs_key",
    ),
    reader="member",
    endpoints=[
        collection("list conversations", "get", "/api/v1/conversations", queries=2),
        collection(
            "create conversation",
            "post",
            "/api/v1/conversations",
            {"title": "x"},
            perm="add",
            status=201,
        ),
        chat("read conversation", "get", ROOM),
        chat(
            "rename",
            "patch",
            ROOM,
            {"title": "y"},
            ok={"owner", "admin"},
            forbidden={"member"},
            perm="change",
        ),
        chat(
            "delete conversation",
            "delete",
            ROOM,
            ok={"owner"},
            status=204,
            # Staff moderate from the console, with chat.delete_conversation.
            forbidden={"admin", "member", "staff"},
            perm="change",
        ),
        chat("mark read", "post", ROOM + "/read", lambda ids: {"message_id": ids["message"]}),
        # The owner is the last owner.
        chat(
            "leave",
            "post",
            ROOM + "/leave",
            ok={"admin", "member"},
            status=204,
            exact={"owner": 409},
            perm="change",
        ),
        chat("list participants", "get", ROOM + "/participants", queries=3),
        chat(
            "add participant",
            "post",
            ROOM + "/participants",
            lambda ids: {"user_id": ids["newcomer"]},
            ok={"owner", "admin"},
            status=201,
            forbidden={"member"},
            perm="change",
        ),
        chat(
            "change role",
            "patch",
            ROOM + "/participants/{other_member}",
            {"role": "admin"},
            ok={"owner"},
            forbidden={"admin", "member"},
            perm="change",
        ),
        chat(
            "remove participant",
            "delete",
            ROOM + "/participants/{other_member}",
            ok={"owner", "admin"},
            status=204,
            forbidden={"member"},
            perm="change",
        ),
        chat("list messages", "get", ROOM + "/messages", queries=2),
        chat(
            "messages since",
            "get",
            ROOM + "/messages?since=2000-01-01T00:00:00Z",
            queries=2,
        ),
        chat("messages before", "get", ROOM + "/messages?before={newest}", queries=2),
        chat("messages after", "get", ROOM + "/messages?after={message}", queries=2),
        chat(
            "post message",
            "post",
            ROOM + "/messages",
            {"content": "hi"},
            perm="add",
            status=201,
        ),
        chat("read message", "get", MESSAGE),
        # The member wrote it.
        chat(
            "edit message",
            "patch",
            MESSAGE,
            {"content": "z"},
            perm="add",
            ok={"member"},
            forbidden={"owner", "admin"},
        ),
        chat("delete message", "delete", MESSAGE, perm="add", status=204),
        chat("thread", "get", MESSAGE + "/thread", queries=2),
        chat("edit history", "get", MESSAGE + "/edits", queries=3),
        chat("react", "post", MESSAGE + "/reactions", {"emoji": "🎉"}, perm="add", status=201),
        chat("take reaction back", "delete", MESSAGE + "/reactions/👍", perm="add", status=204),
        collection("search", "get", "/api/v1/messages/search?q=launch", queries=2),
    ],
)


@pytest.fixture
def scene(room, as_, people) -> Scene:
    """The room of tests/chat/conftest.py with a message the member wrote, reacted to with 👍
    by the owner, the admin and the member; Gil, a member to manage; Hal, who may be added."""
    message = post(as_("member"), room, "Draft of the launch post")
    for who in PARTICIPANTS:
        as_(who).post(
            room.url(f"/messages/{message['id']}/reactions"), {"emoji": "👍"}, format="json"
        )
    gil = people("Gil")
    as_("owner").post(room.url("/participants"), {"user_id": str(gil.pk)}, format="json")
    newest = post(as_("owner"), room, "Launch is on Tuesday")
    # Everyone of the room is in this one too, with Ivy: its message and its member belong
    # to another conversation than the room's paths name.
    elsewhere = conversations.conversation_create(
        creator=room.owner,
        title="Elsewhere",
        participants=[
            (room.admin, ParticipantRole.ADMIN),
            (room.member, ParticipantRole.MEMBER),
            (people("Ivy"), ParticipantRole.MEMBER),
        ],
        context=SYSTEM,
    )
    elsewhere_message = messages.message_post(
        conversation_id=elsewhere.pk, sender=room.member, content="Elsewhere", context=SYSTEM
    )
    return Scene(
        ids={
            "room": str(room.id),
            "message": message["id"],
            "newest": newest["id"],
            "other_member": str(gil.pk),
            "newcomer": str(people("Hal").pk),
        },
        credentials={
            "anonymous": None,
            **{who: bearer(getattr(room, who)) for who in (*PARTICIPANTS, "former", "stranger")},
            "staff": bearer(UserFactory(is_staff=True, roles=["staff"])),
            "no_role": bearer(UserFactory()),
            "read_key": api_key(room.owner, READ_SCOPES),
            "docs_key": api_key(room.member, ["documents.view_document"]),
        },
        foreign={
            "room": str(elsewhere.pk),
            "message": str(elsewhere_message.pk),
            "other_member": str(User.objects.get(email="ivy@example.com").pk),
        },
    )


def _more_rows(scene: Scene) -> None:
    """Two more rows in every list the member reads: conversations, participants, messages
    (in the thread too, all found by the search) and edits of the member's message."""
    room = Conversation.objects.get(pk=scene.ids["room"])
    message = Message.objects.get(pk=scene.ids["message"])
    member = message.sender
    # Everything the scene wrote shares the transaction's timestamp; these land clearly
    # before and after it, so the lists before the newest and after the draft grow too.
    for sent_at in (timezone.now() - timedelta(days=1), timezone.now() + timedelta(minutes=1)):
        ParticipantFactory(conversation=ConversationFactory(), user=member)
        ParticipantFactory(conversation=room, role=ParticipantRole.MEMBER)
        MessageFactory(conversation=room, sender=member, content="launch note", sent_at=sent_at)
        MessageFactory(
            conversation=room,
            sender=member,
            content="launch reply",
            parent=message,
            sent_at=sent_at,
        )
        MessageEditFactory(message=message)


@pytest.mark.parametrize(("endpoint", "caller"), MATRIX.cases())
def test_permission_matrix(scene, endpoint, caller):
    MATRIX.check(scene, endpoint, caller)


@pytest.mark.parametrize("endpoint", MATRIX.lists())
def test_list_query_count_is_pinned_and_does_not_grow_with_rows(
    scene, endpoint, django_assert_num_queries
):
    MATRIX.check_queries(scene, endpoint, lambda: _more_rows(scene), django_assert_num_queries)


@pytest.mark.parametrize("caller", sorted(SIGNED_UP))
def test_lists_show_the_conversation_and_its_messages_to_participants_only(scene, caller):
    client = scene.client(caller)
    participant = caller in PARTICIPANTS

    conversations = client.get("/api/v1/conversations").json()["results"]
    found = client.get("/api/v1/messages/search", {"q": "launch"}).json()["results"]

    assert (scene.ids["room"] in [c["id"] for c in conversations]) is participant
    assert (scene.ids["message"] in [m["id"] for m in found]) is participant


def test_a_not_found_says_nothing_of_the_conversation(scene):
    stranger = scene.client("stranger")
    hidden = stranger.get(f"/api/v1/conversations/{scene.ids['room']}/messages").json()
    missing = stranger.get(
        "/api/v1/conversations/00000000-0000-4000-8000-000000000000/messages"
    ).json()

    assert {k: v for k, v in hidden.items() if k != "instance"} == {
        k: v for k, v in missing.items() if k != "instance"
    }


@pytest.mark.parametrize(("endpoint", "name", "kind"), MATRIX.probes())
def test_every_object_a_path_names_must_be_the_callers(scene, endpoint, name, kind):
    MATRIX.check_probe(scene, endpoint, name, kind)
