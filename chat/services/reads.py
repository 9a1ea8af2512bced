"""The read mark: how far a participant has read a conversation."""

from __future__ import annotations

import uuid

from django.db import connection, transaction

from accounts.models import User
from core.context import ActionContext
from core.events import Audience, publish
from core.exceptions import NotFound

from .. import sql
from ..models import Message, Participant
from ..selectors import MESSAGE_NOT_FOUND, NOT_FOUND


@transaction.atomic(durable=True)
def conversation_mark_read(
    *, conversation_id: uuid.UUID, actor: User, message_id: uuid.UUID, context: ActionContext
) -> Participant:
    """Marks everything up to ``message_id`` read. The marker only moves forward: a slower
    client reporting an older message changes nothing (and announces nothing). When it
    moves, the reader's other devices hear of it."""
    params = {"conversation": conversation_id, "me": actor.pk, "message": message_id}
    with connection.cursor() as db:
        db.execute(sql.LOCK_MY_PARTICIPANT, params)
        db.execute(sql.MARK_READ, params)
        moved = db.rowcount
    participant = (
        Participant.objects.filter(
            conversation_id=conversation_id, user=actor, conversation__deleted_at__isnull=True
        )
        .select_related("conversation")
        .first()
    )
    if participant is None:
        raise NotFound(NOT_FOUND)
    if not moved:
        if not Message.objects.filter(pk=message_id, conversation_id=conversation_id).exists():
            raise NotFound(MESSAGE_NOT_FOUND)
        return participant
    # What the read-mark endpoint answers: the conversation as the reader now sees it.
    publish(
        type="conversation.read",
        target=participant.conversation,
        audience=Audience.user(actor.pk),
        actor=actor,
        context=context,
    )
    return participant
