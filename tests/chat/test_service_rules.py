"""The rules the API's serializers name a field for are the services' own: a caller that is
not the API (the demo, a job, an import) meets the same refusals."""

import pytest

from chat.models import Message, MessageType, ParticipantRole
from chat.services import conversations, messages
from core.context import SYSTEM
from core.exceptions import ValidationFailed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FILE = {"event_type": "file.attached", "payload": {"name": "plan.pdf", "url": "https://f/p.pdf"}}


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"content": "   "}, "content"),
        ({"content": "x" * (messages.MAX_CONTENT_LENGTH + 1)}, "content"),
        ({"content": "", "message_type": MessageType.FILE}, "metadata"),
        ({"content": "", "message_type": MessageType.FILE, "metadata": {"x": 1}}, "metadata"),
        ({"content": "hi", "metadata": {"event_type": "Not Dotted", "payload": {}}}, "metadata"),
        ({"content": "hi", "message_type": MessageType.SYSTEM}, "message_type"),
    ],
    ids=["blank text", "too long", "file without file", "bad shape", "bad event", "system"],
)
def test_a_post_breaking_a_content_rule_is_refused_by_the_service(room, fields, refused):
    with pytest.raises(ValidationFailed) as refusal:
        messages.message_post(conversation_id=room.id, sender=room.member, context=SYSTEM, **fields)

    assert list(refusal.value.fields) == [refused]
    assert not Message.objects.filter(sender=room.member).exists()


def test_a_file_message_with_its_file_is_posted(room):
    message = messages.message_post(
        conversation_id=room.id,
        sender=room.member,
        content="",
        message_type=MessageType.FILE,
        metadata=FILE,
        context=SYSTEM,
    )

    assert Message.objects.get(pk=message.pk).metadata == FILE


def test_an_edit_must_keep_a_text_message_s_text(room):
    message = messages.message_post(
        conversation_id=room.id, sender=room.member, content="Hello", context=SYSTEM
    )

    with pytest.raises(ValidationFailed):
        messages.message_edit(
            conversation_id=room.id,
            message_id=message.pk,
            actor=room.member,
            content=" ",
            context=SYSTEM,
        )

    assert Message.objects.get(pk=message.pk).content == "Hello"


@pytest.mark.parametrize("title", ["", "   ", "x" * 256])
def test_a_conversation_needs_a_title_of_at_most_255_characters(people, title):
    with pytest.raises(ValidationFailed) as refusal:
        conversations.conversation_create(creator=people("Ana"), title=title, context=SYSTEM)

    assert list(refusal.value.fields) == ["title"]


def test_a_deactivated_account_is_not_among_the_first_participants(people):
    gone = UserFactory(is_active=False)

    with pytest.raises(ValidationFailed) as refusal:
        conversations.conversation_create(
            creator=people("Ana"),
            title="Launch",
            participants=[(gone, ParticipantRole.MEMBER)],
            context=SYSTEM,
        )

    assert list(refusal.value.fields) == ["participants"]
