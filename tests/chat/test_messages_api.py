"""Messages through the API: posting, replies, edits with their history, deletion, reactions,
metadata, and every way of reading them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.api.serializers import MessageOutput
from chat.models import Message, MessageEdit, MessageReaction
from tests.chat.conftest import client_for, post

pytestmark = pytest.mark.django_db

FILE = {"event_type": "file.attached", "payload": {"name": "plan.pdf", "url": "https://f/p.pdf"}}


def test_a_posted_message_comes_back_as_the_list_shows_it(room, as_):
    posted = post(as_("member"), room, "Hello, team")

    [listed] = [
        m
        for m in as_("owner").get(room.url("/messages")).json()["results"]
        if m["id"] == posted["id"]
    ]

    assert listed == {**posted, "reactions": []}
    assert posted["content"] == "Hello, team"
    assert posted["sender_id"] == str(room.member.pk)
    assert posted["message_type"] == "text"
    assert MessageOutput(data=posted).is_valid(), "the documented shape"


def test_posting_moves_the_conversation_s_latest_activity(room, as_):
    posted = post(as_("member"), room)

    conversation = as_("owner").get(room.url()).json()

    assert conversation["last_activity_at"] == posted["sent_at"]


def test_a_text_message_needs_text(room, as_):
    response = as_("member").post(room.url("/messages"), {"content": "  "}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "content"


def test_clients_cannot_write_system_messages(room, as_):
    response = as_("owner").post(
        room.url("/messages"),
        {"content": "Ana is now admin", "message_type": "system"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "message_type"


def test_a_file_message_carries_the_file_in_its_metadata(room, as_):
    posted = post(as_("member"), room, "", message_type="file", metadata=FILE)

    assert (posted["message_type"], posted["metadata"]) == ("file", FILE)


def test_a_file_message_without_a_file_is_refused(room, as_):
    response = as_("member").post(
        room.url("/messages"),
        {"content": "", "message_type": "file", "metadata": {"event_type": "x", "payload": {}}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "metadata"


@pytest.mark.parametrize(
    "metadata",
    [
        [],
        {"event_type": "note"},
        {"event_type": "note", "payload": []},
        {"event_type": "Not A Name", "payload": {}},
        {"event_type": "note", "payload": {}, "extra": 1},
        {"event_type": "note", "payload": {"text": "x" * 5000}},
    ],
    ids=["not an object", "no payload", "payload not an object", "bad name", "extra key", "big"],
)
def test_metadata_must_have_the_documented_shape_and_size(room, as_, metadata):
    response = as_("member").post(
        room.url("/messages"), {"content": "hi", "metadata": metadata}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "metadata"


def test_metadata_of_the_documented_shape_is_kept(room, as_):
    metadata = {"event_type": "link.preview", "payload": {"url": "https://x", "title": "X"}}

    assert post(as_("member"), room, "see", metadata=metadata)["metadata"] == metadata


def test_a_reply_names_its_parent_and_shows_in_the_thread(room, as_):
    parent = post(as_("owner"), room, "Who takes the pricing page?")
    reply = post(as_("member"), room, "Me", parent_id=parent["id"])
    post(as_("admin"), room, "unrelated")

    thread = as_("admin").get(room.url(f"/messages/{parent['id']}/thread")).json()

    assert reply["parent_id"] == parent["id"]
    assert thread["parent"]["id"] == parent["id"]
    assert [m["content"] for m in thread["results"]] == ["Me"]


def test_a_reply_to_a_message_of_another_conversation_is_refused(room, as_):
    other = client_for(room.owner).post("/api/v1/conversations", {"title": "x"}, format="json")
    foreign = Message.objects.create(
        conversation_id=other.json()["id"], sender=room.owner, content="x", message_type="text"
    )

    response = as_("owner").post(
        room.url("/messages"), {"content": "hi", "parent_id": str(foreign.pk)}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "parent_id"


def test_the_database_keeps_replies_in_their_parent_s_conversation(room):
    other = Message.objects.create(
        conversation=room.conversation, sender=room.owner, content="x", message_type="text"
    )
    from django.db import IntegrityError, transaction

    from tests.factories import ConversationFactory

    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            conversation=ConversationFactory(),
            sender=room.owner,
            content="y",
            message_type="text",
            parent=other,
        )


def test_the_author_edits_and_the_previous_content_is_kept(room, as_):
    posted = post(as_("member"), room, "Teh plan")

    response = as_("member").patch(
        room.url(f"/messages/{posted['id']}"), {"content": "The plan"}, format="json"
    )

    assert response.status_code == 200
    edited = response.json()
    assert edited["content"] == "The plan"
    assert edited["edited_at"] is not None
    assert edited["changed_at"] > posted["changed_at"]
    history = as_("owner").get(room.url(f"/messages/{posted['id']}/edits")).json()["results"]
    assert [(e["previous_content"], e["editor_id"]) for e in history] == [
        ("Teh plan", str(room.member.pk))
    ]


def test_each_edit_keeps_the_version_it_replaced(room, as_):
    posted = post(as_("member"), room, "v1")
    for content in ("v2", "v3"):
        as_("member").patch(
            room.url(f"/messages/{posted['id']}"), {"content": content}, format="json"
        )

    history = as_("member").get(room.url(f"/messages/{posted['id']}/edits")).json()["results"]

    assert [e["previous_content"] for e in history] == ["v1", "v2"]


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_only_the_author_edits(room, as_, who):
    posted = post(as_("member"), room, "mine")

    response = as_(who).patch(
        room.url(f"/messages/{posted['id']}"), {"content": "x"}, format="json"
    )

    assert response.status_code == 403
    assert Message.objects.get(pk=posted["id"]).content == "mine"
    assert not MessageEdit.objects.exists()


def test_system_messages_cannot_be_edited(room, as_):
    system = Message.objects.filter(conversation_id=room.id, message_type="system").first()

    response = as_("owner").patch(
        room.url(f"/messages/{system.pk}"), {"content": "x"}, format="json"
    )

    assert response.status_code == 403


@pytest.mark.parametrize("who", ["member", "owner", "admin"])
def test_the_author_or_a_conversation_admin_deletes(room, as_, who):
    posted = post(as_("member"), room, "oops")

    response = as_(who).delete(room.url(f"/messages/{posted['id']}"))

    assert response.status_code == 204
    assert Message.all_objects.get(pk=posted["id"]).deleted_at is not None


def test_a_member_cannot_delete_someone_else_s_message(room, as_):
    posted = post(as_("owner"), room, "important")

    assert as_("member").delete(room.url(f"/messages/{posted['id']}")).status_code == 403


def test_a_deleted_message_is_no_longer_served(room, as_):
    posted = post(as_("member"), room, "secret")
    as_("member").delete(room.url(f"/messages/{posted['id']}"))
    client = as_("owner")

    listed = client.get(room.url("/messages")).json()["results"]
    single = client.get(room.url(f"/messages/{posted['id']}"))
    synced = client.get(room.url("/messages"), {"since": posted["sent_at"][:-1] + "0Z"}).json()
    searched = client.get("/api/v1/messages/search", {"q": "secret"}).json()["results"]

    assert posted["id"] not in [m["id"] for m in listed]
    assert single.status_code == 404
    [tombstone] = [m for m in synced["results"] if m["id"] == posted["id"]]
    assert (tombstone["content"], tombstone["metadata"], tombstone["reactions"]) == (None, None, [])
    assert tombstone["deleted_at"] is not None
    assert searched == []
    assert client.patch(room.url(f"/messages/{posted['id']}"), {"content": "x"}).status_code in (
        404,
        415,
    )


def test_reactions_are_one_per_user_per_emoji(room, as_):
    posted = post(as_("owner"), room)
    url = room.url(f"/messages/{posted['id']}/reactions")

    first = as_("member").post(url, {"emoji": "👍"}, format="json")
    again = as_("member").post(url, {"emoji": "👍"}, format="json")
    as_("admin").post(url, {"emoji": "👍"}, format="json")
    as_("member").post(url, {"emoji": "🎉"}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    shown = as_("member").get(room.url(f"/messages/{posted['id']}")).json()["reactions"]
    assert shown == [
        {"emoji": "👍", "count": 2, "me": True},
        {"emoji": "🎉", "count": 1, "me": True},
    ]
    assert (
        as_("owner").get(room.url(f"/messages/{posted['id']}")).json()["reactions"][0]["me"]
        is False
    )


def test_a_reaction_is_taken_back(room, as_):
    posted = post(as_("owner"), room)
    url = room.url(f"/messages/{posted['id']}/reactions")
    as_("member").post(url, {"emoji": "👍"}, format="json")

    response = as_("member").delete(f"{url}/👍")

    assert response.status_code == 204
    assert not MessageReaction.objects.exists()
    assert as_("member").delete(f"{url}/👍").status_code == 404


def test_an_emoji_with_spaces_is_refused(room, as_):
    posted = post(as_("owner"), room)

    response = as_("member").post(
        room.url(f"/messages/{posted['id']}/reactions"), {"emoji": "thumbs up"}, format="json"
    )

    assert response.status_code == 400


# --- reading --------------------------------------------------------------------------------


@pytest.fixture
def history(room, as_) -> list[dict]:
    """Ten messages, oldest first (after the room's system messages)."""
    return [post(as_("member"), room, f"message {n}") for n in range(10)]


def contents(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["content"] for m in response.json()["results"]]


def test_messages_come_newest_first_and_pages_continue_by_cursor(room, as_, history):
    client = as_("owner")

    first = client.get(room.url("/messages"), {"page_size": 4})
    second = client.get(first.json()["next"])

    assert contents(first) == [f"message {n}" for n in (9, 8, 7, 6)]
    assert contents(second) == [f"message {n}" for n in (5, 4, 3, 2)]
    assert "cursor=" in first.json()["next"]


def test_the_last_page_has_no_next(room, as_, history):
    response = as_("owner").get(room.url("/messages"), {"page_size": 200})

    assert response.json()["next"] is None


def test_before_a_message_gives_the_older_ones_newest_first(room, as_, history):
    response = as_("owner").get(room.url("/messages"), {"before": history[5]["id"], "page_size": 3})

    assert contents(response) == ["message 4", "message 3", "message 2"]
    assert contents(as_("owner").get(response.json()["next"]))[:2] == ["message 1", "message 0"]


def test_after_a_message_gives_the_newer_ones_oldest_first(room, as_, history):
    response = as_("owner").get(room.url("/messages"), {"after": history[5]["id"], "page_size": 3})

    assert contents(response) == ["message 6", "message 7", "message 8"]
    assert contents(as_("owner").get(response.json()["next"])) == ["message 9"]


def test_before_a_message_of_another_conversation_is_a_404(room, as_, history):
    other = client_for(room.owner).post("/api/v1/conversations", {"title": "x"}, format="json")
    foreign = Message.objects.create(
        conversation_id=other.json()["id"], sender=room.owner, content="x", message_type="text"
    )

    response = as_("owner").get(room.url("/messages"), {"before": str(foreign.pk)})

    assert response.status_code == 404


def test_only_one_of_before_after_and_since(room, as_, history):
    response = as_("owner").get(
        room.url("/messages"), {"before": history[1]["id"], "after": history[0]["id"]}
    )

    assert response.status_code == 400


def test_since_returns_new_edited_and_deleted_messages_in_change_order(room, as_, history):
    client = as_("member")
    mark = history[-1]["changed_at"]
    new = post(client, room, "new")
    client.patch(room.url(f"/messages/{history[2]['id']}"), {"content": "edited"}, format="json")
    client.delete(room.url(f"/messages/{history[3]['id']}"))
    as_("owner").post(
        room.url(f"/messages/{history[4]['id']}/reactions"), {"emoji": "👍"}, format="json"
    )

    synced = as_("owner").get(room.url("/messages"), {"since": mark}).json()["results"]

    assert [m["id"] for m in synced] == [
        new["id"],
        history[2]["id"],
        history[3]["id"],
        history[4]["id"],
    ]
    assert synced[1]["content"] == "edited"
    assert synced[2]["deleted_at"] is not None
    assert synced[3]["reactions"][0]["emoji"] == "👍"


def test_since_pages_continue_by_cursor(room, as_, history):
    since = (timezone.now() - timedelta(hours=1)).isoformat()

    first = as_("owner").get(room.url("/messages"), {"since": since, "page_size": 10})
    rest = as_("owner").get(first.json()["next"])

    ids = [m["id"] for m in first.json()["results"] + rest.json()["results"]]
    assert len(ids) == len(set(ids)) == Message.objects.filter(conversation_id=room.id).count()


@pytest.mark.parametrize("cursor", ["nonsense", "bzEyMzQ", "eHx4fHg"])
def test_a_tampered_cursor_is_a_400(room, as_, cursor):
    response = as_("owner").get(room.url("/messages"), {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


def test_a_list_cursor_cannot_page_another_list(room, as_, history):
    thread_cursor_page = as_("owner").get("/api/v1/conversations", {"page_size": 1})
    del thread_cursor_page
    first = as_("owner").get(room.url("/messages"), {"after": history[0]["id"], "page_size": 2})

    response = as_("owner").get(
        "/api/v1/messages/search",
        {"q": "message", "cursor": (first.json()["next"].split("cursor=")[1])},
    )

    assert response.status_code == 400


def test_search_finds_words_in_my_conversations_only(room, as_, people):
    post(as_("member"), room, "The invoices are overdue")
    post(as_("member"), room, "Lunch at noon")
    outsider = people("Zed")
    client_for(outsider).post("/api/v1/conversations", {"title": "Zed's"}, format="json")
    zed_room = Message.objects.none()
    del zed_room

    found = as_("owner").get("/api/v1/messages/search", {"q": "invoice"})
    stranger = client_for(outsider).get("/api/v1/messages/search", {"q": "invoice"})

    assert contents(found) == ["The invoices are overdue"]
    assert contents(stranger) == []


def test_search_pages_newest_first_and_can_stay_in_one_conversation(room, as_):
    for n in range(5):
        post(as_("member"), room, f"deploy number {n}")

    first = as_("owner").get(
        "/api/v1/messages/search", {"q": "deploy", "conversation": str(room.id), "page_size": 3}
    )
    second = as_("owner").get(first.json()["next"])

    assert contents(first) == [f"deploy number {n}" for n in (4, 3, 2)]
    assert contents(second) == ["deploy number 1", "deploy number 0"]


def test_search_needs_a_query(room, as_):
    assert as_("owner").get("/api/v1/messages/search").status_code == 400
