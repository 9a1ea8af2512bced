"""The staff console's chat pages: a message shows its edit history and reactions; staff
delete and restore through chat's moderation services, which announce it."""

import pytest
from django.urls import reverse

from chat.models import Conversation, Message
from chat.services import moderation
from core import events
from core.context import SYSTEM
from core.exceptions import PermissionDenied
from tests import factories
from tests.chat.factories import MessageEditFactory, MessageReactionFactory

pytestmark = pytest.mark.django_db


def test_a_message_page_shows_its_edits_and_reactions(client, synced_roles):
    client.force_login(factories.StaffUserFactory(roles=["admin"]))
    edit = MessageEditFactory(previous_content="the first draft")
    MessageReactionFactory(message=edit.message, emoji="🎉")

    page = client.get(reverse("admin:chat_message_change", args=[edit.message_id]))

    assert page.status_code == 200
    assert "the first draft" in page.text
    assert "🎉" in page.text


def test_the_conversation_list_shows_latest_activity(client, synced_roles):
    client.force_login(factories.StaffUserFactory(roles=["admin"]))
    factories.ConversationFactory(title="Launch")

    page = client.get(reverse("admin:chat_conversation_changelist"))

    assert "Last activity" in page.text


@pytest.fixture
def heard():
    announcements: list[events.Announcement] = []
    events.receiver(announcements.append)
    yield announcements
    events.disconnect(announcements.append)


def test_staff_deleting_a_message_is_announced_and_seen_by_sync(
    client, synced_roles, heard, django_capture_on_commit_callbacks
):
    client.force_login(factories.StaffUserFactory(roles=["admin"]))
    message = factories.MessageFactory()
    before = message.changed_at

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:chat_message_delete", args=[message.pk]), {"post": "yes"}
        )

    assert response.status_code == 302
    message = Message.all_objects.get(pk=message.pk)
    assert message.deleted_at is not None
    assert message.changed_at > before
    [deleted] = heard
    assert (deleted.type, deleted.object_id) == ("message.deleted", str(message.pk))


def test_staff_restoring_a_conversation_is_announced(
    client, synced_roles, heard, django_capture_on_commit_callbacks
):
    client.force_login(factories.StaffUserFactory(roles=["staff"]))
    conversation = factories.ConversationFactory(title="Launch")
    Conversation.objects.filter(pk=conversation.pk).soft_delete()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:chat_conversation_changelist") + "?deleted=deleted",
            {"action": "restore_selected", "_selected_action": [conversation.pk]},
        )

    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert [a.type for a in heard] == ["conversation.restored"]


def test_moderation_is_refused_to_whoever_lacks_the_permission(synced_roles):
    message = factories.MessageFactory()
    member = factories.UserFactory(roles=["member"])

    with pytest.raises(PermissionDenied):
        moderation.messages_delete(ids=[message.pk], actor=member, context=SYSTEM)

    assert Message.objects.filter(pk=message.pk).exists()
