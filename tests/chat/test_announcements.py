"""What chat announces (core.events): each change to whom it concerns, once it has committed,
and nothing for a change that was refused or rolled back."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import ParticipantRole
from chat.services import conversations, messages
from core import events
from core.context import SYSTEM
from core.events import Audience
from core.exceptions import NotFound, ValidationFailed
from tests.chat.conftest import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Chat's announcements delivered during the test, in order (signing the callers in is
    announced too, by accounts)."""
    announcements: list[events.Announcement] = []

    def hear(announcement: events.Announcement) -> None:
        if announcement.object_type.startswith("chat."):
            announcements.append(announcement)

    events.receiver(hear)
    yield announcements
    events.disconnect(hear)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Runs what commits would deliver: in a test the outer transaction never commits."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def kinds(announcements) -> list[tuple[str, Audience]]:
    return [(a.type, a.audience) for a in announcements]


def test_a_posted_message_is_announced_to_the_conversation_with_what_a_client_shows(
    room, as_, heard, on_commit
):
    with on_commit():
        response = as_("member").post(
            room.url("/messages"),
            {"content": "Hello"},
            format="json",
            HTTP_X_REQUEST_ID="req-42",
        )
    posted = response.json()

    [announcement] = heard
    assert announcement.type == "message.created"
    assert announcement.audience == Audience.conversation(room.id)
    assert announcement.actor_id == str(room.member.pk)
    assert announcement.object_id == posted["id"]
    assert announcement.context.request_id == "req-42"
    # Exactly what the post answered: the message as the API shows it.
    assert announcement.payload == posted


def test_nothing_is_announced_before_the_commit(room, heard):
    messages.message_post(conversation_id=room.id, sender=room.member, content="Hi", context=SYSTEM)

    assert heard == []


def test_a_refused_post_announces_nothing(room, heard, on_commit):
    with on_commit(), pytest.raises(NotFound):
        messages.message_post(
            conversation_id=room.id, sender=room.stranger, content="Hi", context=SYSTEM
        )

    assert heard == []


def test_a_change_rolled_back_after_announcing_is_never_heard(people, heard, on_commit):
    ana, ben = people("Ana"), people("Ben")

    # Ben is added (and announced) before his repetition rolls the whole creation back.
    with on_commit(), pytest.raises(ValidationFailed):
        conversations.conversation_create(
            creator=ana,
            title="Launch",
            participants=[(ben, ParticipantRole.MEMBER), (ben, ParticipantRole.ADMIN)],
            context=SYSTEM,
        )

    assert heard == []


def test_posting_sends_one_statement_more_than_before_the_event_log(room):
    with CaptureQueriesContext(connection) as captured:
        messages.message_post(
            conversation_id=room.id, sender=room.member, content="Hi", context=SYSTEM
        )

    sent = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    # Activity and lock, the INSERT, the read mark, and the event's row in the outbox.
    assert len(sent) == 4
    assert sent[-1].startswith("INSERT INTO events ")  # core.sql.INSERT_EVENT


def test_edits_and_deletions_are_announced(room, as_, heard, on_commit):
    posted = post(as_("member"), room, "Draft")
    url = room.url(f"/messages/{posted['id']}")

    with on_commit():
        as_("member").patch(url, {"content": "Final"}, format="json")
        as_("owner").delete(url)

    edited, deleted = heard
    assert (edited.type, edited.payload["content"]) == ("message.edited", "Final")
    assert "edited_at" in edited.payload
    assert deleted.type == "message.deleted"
    assert deleted.actor_id == str(room.owner.pk)
    assert deleted.payload == {"id": posted["id"], "conversation_id": str(room.id)}
    assert {a.audience for a in heard} == {Audience.conversation(room.id)}


def test_a_reaction_is_announced_once_and_its_removal_too(room, as_, heard, on_commit):
    posted = post(as_("member"), room)
    url = room.url(f"/messages/{posted['id']}/reactions")

    with on_commit():
        as_("owner").post(url, {"emoji": "👍"}, format="json")
        as_("owner").post(url, {"emoji": "👍"}, format="json")  # already there: nothing new
        as_("owner").delete(url + "/👍")

    assert [a.type for a in heard] == ["reaction.added", "reaction.removed"]
    # The message with its reactions as the reacting owner now sees them.
    assert heard[0].payload["id"] == posted["id"]
    assert heard[0].payload["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]
    assert heard[1].payload["reactions"] == []


def test_an_added_participant_is_announced_with_the_system_message(
    room, as_, people, heard, on_commit
):
    gil = people("Gil")

    with on_commit():
        as_("owner").post(room.url("/participants"), {"user_id": str(gil.pk)}, format="json")

    system, added = heard
    assert (system.type, system.payload["message_type"]) == ("message.created", "system")
    assert (added.type, added.audience) == ("participant.added", Audience.conversation(room.id))
    # The participant as the participants endpoint answers it.
    assert added.payload["user_id"] == str(gil.pk)
    assert (added.payload["display_name"], added.payload["role"]) == ("Gil", "member")


@pytest.mark.parametrize(
    ("who", "path"), [("owner", "/participants/{member}"), ("member", "/leave")]
)
def test_whoever_is_no_longer_in_it_hears_so_themselves(room, as_, heard, on_commit, who, path):
    url = room.url(path.format(member=room.member.pk))

    with on_commit():
        response = (as_(who).delete if who == "owner" else as_(who).post)(url)

    assert response.status_code == 204
    assert kinds(heard) == [
        ("message.created", Audience.conversation(room.id)),
        ("participant.removed", Audience.conversation(room.id)),
        ("participant.removed", Audience.user(room.member.pk)),
    ]


def test_a_rename_and_a_deletion_are_announced(room, as_, heard, on_commit):
    with on_commit():
        as_("admin").patch(room.url(), {"title": "Launch day"}, format="json")
        as_("owner").delete(room.url())

    assert [a.type for a in heard] == [
        "message.created",
        "conversation.updated",
        "conversation.deleted",
    ]
    # The conversation as the renaming admin now reads it; the deletion names it only.
    assert (heard[1].payload["id"], heard[1].payload["title"]) == (str(room.id), "Launch day")
    assert heard[1].payload["role"] == "admin"
    assert heard[2].payload == {"id": str(room.id)}


def test_a_read_mark_goes_to_the_reader_s_own_devices_only_when_it_moves(
    room, as_, heard, on_commit
):
    older, newer = post(as_("member"), room, "one"), post(as_("member"), room, "two")

    with on_commit():
        as_("owner").post(room.url("/read"), {"message_id": newer["id"]}, format="json")
        as_("owner").post(room.url("/read"), {"message_id": older["id"]}, format="json")

    [read] = heard
    assert (read.type, read.audience) == ("conversation.read", Audience.user(room.owner.pk))
    assert read.payload["last_read_message_id"] == newer["id"]
