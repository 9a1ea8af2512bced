"""What staff do to chat from the admin: take conversations and messages down, and bring them
back. Staff are not participants, so these check the staff member's permission instead of a
role in the conversation; the participants hear of it like any other change."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from django.db import transaction

from accounts.models import User
from core.context import ActionContext
from core.exceptions import PermissionDenied

from ..models import Conversation, Message
from ._shared import ClockTimestamp, announce_conversation, announce_message, announce_removal


def _require(actor: User, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied("Staff moderation needs the permission " + perm + ".")


@transaction.atomic(durable=True)
def conversations_delete(*, ids: Collection[uuid.UUID], actor: User, context: ActionContext) -> int:
    """Deletes (softly) the live conversations among ``ids``; how many."""
    _require(actor, "chat.delete_conversation")
    conversations = list(
        Conversation.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    )
    Conversation.objects.filter(pk__in=[c.pk for c in conversations]).soft_delete()
    for conversation in conversations:
        announce_conversation("conversation.deleted", conversation, actor=actor, context=context)
    return len(conversations)


@transaction.atomic(durable=True)
def conversations_restore(
    *, ids: Collection[uuid.UUID], actor: User, context: ActionContext
) -> int:
    """Brings back the deleted conversations among ``ids``; how many."""
    _require(actor, "chat.change_conversation")
    conversations = list(
        Conversation.all_objects.deleted()
        .select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
    )
    Conversation.all_objects.filter(pk__in=[c.pk for c in conversations]).restore()
    for conversation in conversations:
        announce_conversation("conversation.restored", conversation, actor=actor, context=context)
    return len(conversations)


def _lock_messages(message_ids: Collection[uuid.UUID], *, deleted: bool) -> list[Message]:
    """The messages (live or deleted), after their conversations' row locks: a message's
    changed_at is read from the clock under its conversation's lock, as every chat write's."""
    rows = Message.all_objects.filter(pk__in=message_ids, deleted_at__isnull=not deleted)
    conversation_ids = set(rows.values_list("conversation_id", flat=True))
    list(
        Conversation.all_objects.select_for_update(no_key=True)
        .filter(pk__in=conversation_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(rows.select_for_update(no_key=True).order_by("pk"))


@transaction.atomic(durable=True)
def messages_delete(*, ids: Collection[uuid.UUID], actor: User, context: ActionContext) -> int:
    """Deletes (softly) the live messages among ``ids``; ``since`` sync serves them
    as tombstones from then on. How many."""
    _require(actor, "chat.delete_message")
    messages = _lock_messages(ids, deleted=False)
    Message.all_objects.filter(pk__in=[m.pk for m in messages]).update(
        deleted_at=ClockTimestamp(), changed_at=ClockTimestamp()
    )
    for message in messages:
        announce_removal("message.deleted", message, actor=actor, context=context)
    return len(messages)


@transaction.atomic(durable=True)
def messages_restore(*, ids: Collection[uuid.UUID], actor: User, context: ActionContext) -> int:
    """Brings back the deleted messages among ``ids``, whole; how many."""
    _require(actor, "chat.change_message")
    messages = _lock_messages(ids, deleted=True)
    Message.all_objects.filter(pk__in=[m.pk for m in messages]).update(
        deleted_at=None, changed_at=ClockTimestamp()
    )
    for message in messages:
        announce_message("message.restored", message, actor=actor, context=context)
    return len(messages)
