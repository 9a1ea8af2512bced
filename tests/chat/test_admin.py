"""The staff console's chat pages: a message shows its edit history and reactions."""

import pytest
from django.urls import reverse

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
