"""Conversations through the API: create, rename, list mine, delete, mark read."""

import pytest

from chat.models import Conversation, Message, MessageType, Participant, ParticipantRole
from chat.selectors import UNREAD_COUNT_CAP
from tests.chat.conftest import client_for, post

pytestmark = pytest.mark.django_db


def system_texts(conversation_id) -> list[str]:
    return list(
        Message.objects.filter(conversation_id=conversation_id, message_type=MessageType.SYSTEM)
        .order_by("sent_at", "id")
        .values_list("content", flat=True)
    )


def test_the_creator_becomes_owner_and_initial_participants_are_announced(people):
    ana, ben = people("Ana"), people("Ben")

    response = client_for(ana).post(
        "/api/v1/conversations",
        {"title": "Launch", "participants": [{"user_id": str(ben.pk), "role": "admin"}]},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["role"]) == ("Launch", "owner")
    roles = dict(
        Participant.objects.filter(conversation_id=body["id"]).values_list("user__email", "role")
    )
    assert roles == {ana.email: ParticipantRole.OWNER, ben.email: ParticipantRole.ADMIN}
    assert system_texts(body["id"]) == ["Ana added Ben"]


def test_a_conversation_can_start_with_nobody_else(people):
    response = client_for(people("Ana")).post(
        "/api/v1/conversations", {"title": "Notes to self"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["unread_count"] == 0


@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"title": "x" * 256}, {"participants": []}],
    ids=["empty title", "long title", "no title"],
)
def test_a_conversation_needs_a_title(people, body):
    response = client_for(people("Ana")).post("/api/v1/conversations", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "title"


def test_an_unknown_or_repeated_initial_participant_is_refused(people):
    ana, ben = people("Ana"), people("Ben")
    client = client_for(ana)

    unknown = client.post(
        "/api/v1/conversations",
        {"title": "t", "participants": [{"user_id": "00000000-0000-4000-8000-000000000000"}]},
        format="json",
    )
    repeated = client.post(
        "/api/v1/conversations",
        {"title": "t", "participants": [{"user_id": str(ben.pk)}, {"user_id": str(ben.pk)}]},
        format="json",
    )

    assert unknown.status_code == 400
    assert repeated.status_code == 400
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_rename(room, as_, who):
    response = as_(who).patch(room.url(), {"title": "Launch v2"}, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "Launch v2"
    assert system_texts(room.id)[-1].endswith("renamed the conversation to “Launch v2”")


def test_a_member_cannot_rename(room, as_):
    response = as_("member").patch(room.url(), {"title": "Mine now"}, format="json")

    assert response.status_code == 403
    assert Conversation.objects.get(pk=room.id).title == "Launch"


def test_my_conversations_come_latest_activity_first(people):
    ana, ben = people("Ana"), people("Ben")
    client = client_for(ana)
    ids = [
        client.post("/api/v1/conversations", {"title": t}, format="json").json()["id"]
        for t in ("first", "second", "third")
    ]
    # A message in the first makes it the latest; Ben's own conversation is not Ana's.
    client.post(f"/api/v1/conversations/{ids[0]}/messages", {"content": "hi"}, format="json")
    client_for(ben).post("/api/v1/conversations", {"title": "Ben's"}, format="json")

    listed = client.get("/api/v1/conversations").json()["results"]

    assert [c["title"] for c in listed] == ["first", "third", "second"]


def test_the_list_counts_what_others_wrote_after_my_last_read(room, as_):
    first = post(as_("member"), room, "one")
    post(as_("member"), room, "two")
    post(as_("owner"), room, "mine do not count")
    as_("admin").post(room.url("/read"), {"message_id": first["id"]}, format="json")

    [admin_view] = as_("admin").get("/api/v1/conversations").json()["results"]

    # "two" and the owner's message are after the read mark.
    assert admin_view["unread_count"] == 2
    assert admin_view["last_read_message_id"] == first["id"]


def test_posting_marks_the_conversation_read_for_the_sender_only(room, as_):
    def unread_of(role: str) -> int:
        [listed] = as_(role).get("/api/v1/conversations").json()["results"]
        return listed["unread_count"]

    post(as_("member"), room, "one")
    post(as_("member"), room, "two")
    owner_unread = unread_of("owner")

    mine = post(as_("admin"), room, "seen both")

    [sender_view] = as_("admin").get("/api/v1/conversations").json()["results"]
    assert sender_view["unread_count"] == 0
    assert sender_view["last_read_message_id"] == mine["id"]
    assert unread_of("owner") == owner_unread + 1


def test_many_own_posts_leave_the_unread_count_to_what_others_wrote_since(room, as_):
    for n in range(5):
        post(as_("admin"), room, f"mine {n}")
    post(as_("member"), room, "new from someone else")

    [listed] = as_("admin").get("/api/v1/conversations").json()["results"]

    assert listed["unread_count"] == 1


def test_unread_counts_stop_at_the_cap(room, as_):
    sender = room.member
    Message.objects.bulk_create(
        Message(conversation=room.conversation, sender=sender, content="x", message_type="text")
        for _ in range(UNREAD_COUNT_CAP + 5)
    )

    [listed] = as_("admin").get("/api/v1/conversations").json()["results"]

    assert listed["unread_count"] == UNREAD_COUNT_CAP


def test_mark_read_moves_forward_only(room, as_):
    older = post(as_("member"), room, "older")
    newer = post(as_("member"), room, "newer")
    client = as_("owner")

    client.post(room.url("/read"), {"message_id": newer["id"]}, format="json")
    response = client.post(room.url("/read"), {"message_id": older["id"]}, format="json")

    assert response.status_code == 200
    assert response.json()["last_read_message_id"] == newer["id"]
    assert response.json()["unread_count"] == 0
    assert response.json()["last_read_at"] is not None


def test_mark_read_with_a_message_of_another_conversation_is_a_404(room, as_):
    elsewhere = client_for(room.owner).post(
        "/api/v1/conversations", {"title": "Other"}, format="json"
    )
    message = Message.objects.create(
        conversation_id=elsewhere.json()["id"], sender=room.owner, content="x", message_type="text"
    )

    response = as_("owner").post(room.url("/read"), {"message_id": str(message.pk)}, format="json")

    assert response.status_code == 404


def test_an_owner_deletes_the_conversation_for_everyone(room, as_):
    response = as_("owner").delete(room.url())

    assert response.status_code == 204
    assert Conversation.all_objects.get(pk=room.id).deleted_at is not None
    assert as_("member").get(room.url()).status_code == 404
    assert as_("member").get(room.url("/messages")).status_code == 404
    assert as_("member").get("/api/v1/conversations").json()["results"] == []


@pytest.mark.parametrize("who", ["admin", "member"])
def test_only_an_owner_deletes(room, as_, who):
    assert as_(who).delete(room.url()).status_code == 403
    assert Conversation.objects.filter(pk=room.id).exists()
