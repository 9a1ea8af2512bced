"""Who sees which event is decided when reading: each audience's rule, as it stands now."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from chat.models import Participant
from core import events
from tests.events.conftest import publish
from tests.factories import (
    ConversationFactory,
    DocumentFactory,
    DocumentShareFactory,
    InvoiceFactory,
    ParticipantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def seen_by(user, **kwargs) -> list[int]:
    return [event.pk for event in events.events_after(user=user, after=0, limit=100, **kwargs)]


@pytest.fixture
def room(member):
    """A conversation of two participants, one event in it, and a stranger."""
    conversation = ConversationFactory()
    alice, bob, stranger = member(), member(), member()
    for user in (alice, bob):
        ParticipantFactory(conversation=conversation, user=user)
    said = publish(conversation, events.Audience.conversation(conversation.pk), "message.created")
    return SimpleNamespace(
        conversation=conversation, alice=alice, bob=bob, stranger=stranger, said=said
    )


def test_participants_see_their_conversations_events_and_strangers_do_not(room):
    assert seen_by(room.alice) == [room.said]
    assert seen_by(room.bob) == [room.said]
    assert seen_by(room.stranger) == []


def test_a_removed_participant_sees_neither_new_nor_old_events_of_the_conversation(room):
    Participant.objects.filter(conversation=room.conversation, user=room.bob).delete()
    later = publish(
        room.conversation, events.Audience.conversation(room.conversation.pk), "participant.removed"
    )
    assert seen_by(room.bob) == []
    assert seen_by(room.alice) == [room.said, later]


def test_nobody_sees_the_events_of_a_deleted_conversation(room):
    type(room.conversation).objects.filter(pk=room.conversation.pk).soft_delete()
    assert seen_by(room.alice) == []


def test_owner_and_sharee_see_a_documents_events_until_the_share_expires(member):
    owner, sharee, lapsed, stranger = member(), member(), member(), member()
    document = DocumentFactory(owner=owner)
    DocumentShareFactory(document=document, user=sharee)
    DocumentShareFactory(
        document=document, user=lapsed, expires_at=timezone.now() - timedelta(seconds=1)
    )
    changed = publish(document, events.Audience.document(document.pk), "document.updated")

    assert seen_by(owner) == [changed]
    assert seen_by(sharee) == [changed]
    assert seen_by(lapsed) == []
    assert seen_by(stranger) == []


def test_nobody_sees_the_events_of_a_deleted_document(member):
    owner = member()
    document = DocumentFactory(owner=owner)
    publish(document, events.Audience.document(document.pk), "document.updated")
    type(document).objects.filter(pk=document.pk).soft_delete()
    assert seen_by(owner) == []


def test_account_events_reach_the_account_holder_only(member):
    holder, other = member(), member()
    signed_in = publish(holder, events.Audience.user(holder.pk), "session.created")
    assert seen_by(holder) == [signed_in]
    assert seen_by(other) == []


def test_permission_events_reach_whoever_holds_the_permission_now(member, staff):
    invoice = InvoiceFactory()
    notice = publish(
        invoice, events.Audience.permission("billing.view_invoice"), "invoice.marked_uncollectible"
    )
    assert seen_by(staff) == [notice]
    assert seen_by(member()) == []
    assert seen_by(UserFactory(is_superuser=True)) == [notice]


def test_a_reader_without_a_kinds_permission_sees_none_of_that_kind(room):
    # As an API key scoped to documents would read: conversation events stay hidden.
    assert seen_by(room.alice, may=lambda perm: perm.startswith("documents.")) == []


def test_a_page_of_every_audience_is_one_query(room, django_assert_num_queries):
    # The credential lookup loads the user's permission names with the user.
    room.alice.has_perm("chat.view_conversation")
    with django_assert_num_queries(1):
        seen_by(room.alice)
