"""Conversations: starting one, renaming it, deleting it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db import transaction

from accounts.models import User
from core.context import ActionContext
from core.exceptions import PermissionDenied, ValidationFailed
from core.services.idempotency import idempotent_write

from ..models import TITLE_MAX_LENGTH, Conversation, Participant, ParticipantRole
from ._shared import (
    MANAGERS,
    ClockTimestamp,
    add_participant,
    announce_conversation,
    display_name,
    lock,
    system_message,
)

# Others a conversation starts with; more are added one by one.
MAX_INITIAL_PARTICIPANTS = 100


def _check_title(title: str) -> None:
    if not title.strip():
        raise ValidationFailed(fields={"title": ["A conversation needs a title."]})
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationFailed(
            fields={"title": [f"A title is at most {TITLE_MAX_LENGTH} characters."]}
        )


@idempotent_write
def conversation_create(
    *,
    creator: User,
    title: str,
    participants: Sequence[tuple[User, str]] = (),
    context: ActionContext,
) -> Conversation:
    """Creates a conversation with the creator as its owner and the given (user, role)
    participants, each announced by a system message."""
    _check_title(title)
    if len(participants) > MAX_INITIAL_PARTICIPANTS:
        raise ValidationFailed(
            fields={
                "participants": [
                    f"A conversation starts with at most {MAX_INITIAL_PARTICIPANTS} others."
                ]
            }
        )
    # The clock, not the transaction's start: two conversations created in one transaction
    # (a test, a bulk import) still sort in the order they were made.
    conversation = Conversation.objects.create(title=title, last_activity_at=ClockTimestamp())
    conversation.refresh_from_db(fields=["last_activity_at"])
    Participant.objects.create(conversation=conversation, user=creator, role=ParticipantRole.OWNER)
    seen = {creator.pk}
    for user, role in participants:
        if user.pk in seen:
            raise ValidationFailed(
                fields={"participants": ["Each person can be added once; the creator is in."]}
            )
        seen.add(user.pk)
        add_participant(
            conversation=conversation,
            actor=creator,
            user=user,
            role=role,
            context=context,
            field="participants",
        )
    return conversation


@transaction.atomic(durable=True)
def conversation_rename(
    *, conversation_id: uuid.UUID, actor: User, title: str, context: ActionContext
) -> Conversation:
    """Owners and admins rename; the change is announced by a system message."""
    _check_title(title)
    held = lock(conversation_id=conversation_id, user=actor)
    if held.participant.role not in MANAGERS:
        raise PermissionDenied("Only owners and admins rename a conversation.")
    conversation = held.conversation
    if conversation.title != title:
        previous = conversation.title
        conversation.title = title
        conversation.save(update_fields=["title"])
        system_message(
            conversation=conversation,
            actor=actor,
            context=context,
            text=f"{display_name(actor)} renamed the conversation to “{title}”",
            event="conversation.renamed",
            payload={"title": title, "previous_title": previous},
        )
        announce_conversation("conversation.updated", conversation, actor=actor, context=context)
    return conversation


@transaction.atomic(durable=True)
def conversation_delete(*, conversation_id: uuid.UUID, actor: User, context: ActionContext) -> None:
    """An owner deletes (softly): from then on nobody sees it or anything in it."""
    held = lock(conversation_id=conversation_id, user=actor)
    if held.participant.role != ParticipantRole.OWNER:
        raise PermissionDenied("Only an owner deletes a conversation.")
    Conversation.objects.filter(pk=held.conversation.pk).soft_delete()
    announce_conversation("conversation.deleted", held.conversation, actor=actor, context=context)
