"""What the chat services share: the conversation lock, writing a message, system messages,
adding a participant and the announcements. Only chat.services' own modules import this;
nothing here is a transaction of its own."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Func

from accounts.models import User
from core.context import ActionContext
from core.events import Audience, publish
from core.exceptions import NotFound, ValidationFailed

from .. import sql
from ..models import Conversation, Message, MessageType, Participant, ParticipantRole
from ..selectors import NOT_FOUND

MANAGERS = frozenset({ParticipantRole.OWNER, ParticipantRole.ADMIN})


class ClockTimestamp(Func):
    """``clock_timestamp()``: the time now, not when the transaction began."""

    template = "clock_timestamp()"


@dataclass(frozen=True)
class Membership:
    conversation: Conversation
    participant: Participant


def lock(*, conversation_id: uuid.UUID, user: User) -> Membership:
    """Locks a live conversation the user is in and returns it with their participant row.

    Precondition: inside a transaction. NotFound for anyone who is not a participant."""
    conversation = (
        Conversation.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk=conversation_id, participant__user=user)
        .first()
    )
    if conversation is None:
        raise NotFound(NOT_FOUND)
    participant = Participant.objects.get(conversation=conversation, user=user)
    return Membership(conversation, participant)


def display_name(user: User) -> str:
    profile = getattr(user, "profile", None)
    return profile.display_name if profile is not None else user.email


def insert_message(
    *,
    conversation_id: uuid.UUID,
    sender: User,
    content: str,
    message_type: str,
    metadata: dict[str, Any] | None,
    parent_id: uuid.UUID | None,
    at: Any,
) -> Message:
    """Writes a message at ``at`` (a time read under the conversation's lock) with
    chat/sql.py's statement, the one the benchmark floor sends too, and returns it as the ORM
    would have: the INSERT is the whole cost, no row is read back."""
    row = {
        "id": uuid.uuid4(),
        "deleted_at": None,
        "conversation_id": conversation_id,
        "sender_id": sender.pk,
        "content": content,
        "message_type": message_type,
        "metadata": metadata or {},
        "sent_at": at,
        "parent_id": parent_id,
        "edited_at": None,
        "changed_at": at,
    }
    with connection.cursor() as db:
        db.execute(
            sql.INSERT_MESSAGE,
            {
                "message": row["id"],
                "conversation": conversation_id,
                "me": sender.pk,
                "content": content,
                "message_type": message_type,
                "metadata": json.dumps(row["metadata"]),
                "parent": parent_id,
                "at": at,
            },
        )
    # search_vector, which PostgreSQL computes, stays deferred.
    names = [f.attname for f in Message._meta.concrete_fields if f.attname in row]
    message = Message.from_db(connection.alias, names, [row[name] for name in names])
    message.sender = sender
    return message


def message_payload(message: Message) -> dict[str, Any]:
    """What a client needs to show a message it has not fetched."""
    return {
        "id": str(message.pk),
        "conversation_id": str(message.conversation_id),
        "sender_id": str(message.sender_id),
        "parent_id": None if message.parent_id is None else str(message.parent_id),
        "message_type": message.message_type,
        "content": message.content,
        # A file message is its metadata; a system message says what happened in it.
        "metadata": message.metadata,
        "sent_at": message.sent_at.isoformat(),
    }


def announce_message(
    type: str, message: Message, *, actor: User | None, context: ActionContext, **extra: Any
) -> None:
    publish(
        type=type,
        target=message,
        audience=Audience.conversation(message.conversation_id),
        actor=actor,
        context=context,
        payload={**message_payload(message), **extra},
    )


def announce_removal(
    type: str, message: Message, *, actor: User | None, context: ActionContext
) -> None:
    """message.deleted (and the like) names the message only: its content is what went."""
    publish(
        type=type,
        target=message,
        audience=Audience.conversation(message.conversation_id),
        actor=actor,
        context=context,
        payload={"id": str(message.pk), "conversation_id": str(message.conversation_id)},
    )


def announce_conversation(
    type: str, conversation: Conversation, *, actor: User | None, context: ActionContext
) -> None:
    publish(
        type=type,
        target=conversation,
        audience=Audience.conversation(conversation.pk),
        actor=actor,
        context=context,
        payload={"id": str(conversation.pk), "title": conversation.title},
    )


def system_message(
    *,
    conversation: Conversation,
    actor: User,
    context: ActionContext,
    text: str,
    event: str,
    payload: dict[str, Any],
) -> Message:
    """A system message: the service records membership changes in the conversation itself
    ("Ana added Ben"), for everyone to read. Clients cannot post this type.

    Precondition: the caller holds the conversation's row lock, or the UPDATE takes it here
    before it reads the clock."""
    with connection.cursor() as db:
        db.execute(sql.TOUCH_ACTIVITY, {"conversation": conversation.pk})
        (now,) = db.fetchone()
    message = insert_message(
        conversation_id=conversation.pk,
        sender=actor,
        content=text,
        message_type=MessageType.SYSTEM,
        metadata={"event_type": event, "payload": payload},
        parent_id=None,
        at=now,
    )
    conversation.last_activity_at = now
    announce_message("message.created", message, actor=actor, context=context)
    return message


def announce_participant(
    type: str,
    *,
    conversation: Conversation,
    user_id: uuid.UUID,
    actor: User,
    context: ActionContext,
    **extra: Any,
) -> None:
    """participant.*: about the conversation (a participant row has no single id of its own).
    Someone who is no longer in it hears of their removal as themselves."""
    audiences = [Audience.conversation(conversation.pk)]
    if type == "participant.removed":
        audiences.append(Audience.user(user_id))
    for audience in audiences:
        publish(
            type=type,
            target=conversation,
            audience=audience,
            actor=actor,
            context=context,
            payload={"conversation_id": str(conversation.pk), "user_id": str(user_id), **extra},
        )


def add_participant(
    *,
    conversation: Conversation,
    actor: User,
    user: User,
    role: str,
    context: ActionContext,
    field: str,
) -> Participant:
    """``user`` joins with ``role``, announced by a system message in ``actor``'s name.
    ``field`` names the input that brought ``user`` (for the refusal).

    Precondition: the caller's transaction holds the conversation's lock or created it."""
    if not user.is_active:
        raise ValidationFailed(fields={field: ["No such user."]})
    participant = Participant.objects.create(conversation=conversation, user=user, role=role)
    system_message(
        conversation=conversation,
        actor=actor,
        context=context,
        text=f"{display_name(actor)} added {display_name(user)}",
        event="participant.added",
        payload={"user_id": str(user.pk), "role": role},
    )
    announce_participant(
        "participant.added",
        conversation=conversation,
        user_id=user.pk,
        actor=actor,
        context=context,
        role=role,
    )
    return participant
