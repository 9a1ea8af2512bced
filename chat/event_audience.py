"""Who reads the events of a conversation: its current participants, while it is not deleted.

Registered with core.events from ChatConfig.ready(). Decided at the moment of reading, so a
removed participant sees none of the conversation's events any more, old ones included."""

from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast

from .models import Participant

# The permission a credential needs to read conversation events at all, as for the
# conversation endpoints.
VIEW_CONVERSATION = "chat.view_conversation"


def conversations_of(user, may) -> QuerySet | None:
    """The ids (as text, the events' ``audience_key``) of the live conversations ``user``
    takes part in; a subquery of the events page."""
    if not may(VIEW_CONVERSATION):
        return None
    return (
        Participant.objects.filter(user=user, conversation__deleted_at__isnull=True)
        .order_by()
        .values(key=Cast("conversation_id", CharField()))
    )
