"""Reactions: one person's emoji on a message, added once, taken back."""

from __future__ import annotations

import uuid

from django.db import connection, transaction

from accounts.models import User
from core.context import ActionContext
from core.db import instance_from_row
from core.events import Audience, publish
from core.exceptions import NotFound

from .. import sql
from ..models import Message, MessageReaction
from ..selectors import MESSAGE_NOT_FOUND
from ._shared import ClockTimestamp, Membership, lock


def _live_message(held: Membership, message_id: uuid.UUID) -> Message:
    message = (
        Message.objects.filter(
            pk=message_id, conversation=held.conversation, deleted_at__isnull=True
        )
        .only("pk", "conversation_id")
        .first()
    )
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return message


def _touch_message(message_id: uuid.UUID) -> None:
    # Reactions are part of what clients show: ``since`` sync must see them change.
    Message.objects.filter(pk=message_id).update(changed_at=ClockTimestamp())


def _announce(type: str, message: Message, *, actor: User, context: ActionContext) -> None:
    # About the message: its reaction summary, as the API now shows it, is what a client
    # redraws.
    publish(
        type=type,
        target=message,
        audience=Audience.conversation(message.conversation_id),
        actor=actor,
        context=context,
    )


@transaction.atomic(durable=True)
def reaction_add(
    *,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    actor: User,
    emoji: str,
    context: ActionContext,
) -> tuple[MessageReaction, bool]:
    """Adds the caller's emoji to a message; the second time it is already there (created
    False, nothing announced). The unique constraint decides races: ON CONFLICT DO NOTHING
    never fails."""
    held = lock(conversation_id=conversation_id, user=actor)
    message = _live_message(held, message_id)
    with connection.cursor() as db:
        db.execute(sql.ADD_REACTION, {"message": message_id, "me": actor.pk, "emoji": emoji})
        row = db.fetchone()
    if row is None:
        return MessageReaction.objects.get(message_id=message_id, user=actor, emoji=emoji), False
    _touch_message(message_id)
    _announce("reaction.added", message, actor=actor, context=context)
    return instance_from_row(MessageReaction, row), True


@transaction.atomic(durable=True)
def reaction_remove(
    *,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    actor: User,
    emoji: str,
    context: ActionContext,
) -> None:
    held = lock(conversation_id=conversation_id, user=actor)
    message = _live_message(held, message_id)
    deleted, _ = MessageReaction.objects.filter(
        message_id=message_id, user=actor, emoji=emoji
    ).delete()
    if not deleted:
        raise NotFound("You have not reacted with this emoji.")
    _touch_message(message_id)
    _announce("reaction.removed", message, actor=actor, context=context)
