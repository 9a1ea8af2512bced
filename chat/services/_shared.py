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
from core.events import Audience, publish, representation
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
) -> tuple[Message, dict[str, Any]]:
    """Writes a message at ``at`` (a time read under the conversation's lock) with
    chat/sql.py's statement, the one the benchmark floor sends too, and returns it as the ORM
    would have, with its API representation (which the INSERT returns): the INSERT is the
    whole cost, no row is read back."""
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
        (represented,) = db.fetchone()
    # search_vector, which PostgreSQL computes, stays deferred.
    names = [f.attname for f in Message._meta.concrete_fields if f.attname in row]
    message = Message.from_db(connection.alias, names, [row[name] for name in names])
    message.sender = sender
    return message, json.loads(represented)


def announce_message(
    type: str,
    message: Message,
    *,
    actor: User | None,
    context: ActionContext,
    represented: dict[str, Any] | None = None,
) -> None:
    """The message as the API now shows it to ``actor`` (chat.selectors
    .message_representation, unless the caller already holds it)."""
    publish(
        type=type,
        target=message,
        audience=Audience.conversation(message.conversation_id),
        actor=actor,
        context=context,
        payload=represented,
    )


def announce_removal(
    type: str, message: Message, *, actor: User | None, context: ActionContext
) -> None:
    """message.deleted names the message only: its content is what went."""
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
    """The conversation as the API now shows it to ``actor`` (chat.selectors
    .conversation_representation); conversation.deleted names it only."""
    publish(
        type=type,
        target=conversation,
        audience=Audience.conversation(conversation.pk),
        actor=actor,
        context=context,
        payload={"id": str(conversation.pk)} if type == "conversation.deleted" else None,
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
    message, represented = insert_message(
        conversation_id=conversation.pk,
        sender=actor,
        content=text,
        message_type=MessageType.SYSTEM,
        metadata={"event_type": event, "payload": payload},
        parent_id=None,
        at=now,
    )
    conversation.last_activity_at = now
    announce_message(
        "message.created", message, actor=actor, context=context, represented=represented
    )
    return message


def announce_participant(
    type: str,
    *,
    conversation: Conversation,
    participant: Participant,
    actor: User,
    context: ActionContext,
) -> None:
    """participant.*: about the conversation (a participant row has no single id of its own),
    carrying the participant as the API lists it; participant.removed names the conversation
    and the user only. Someone who is no longer in it hears of their removal as themselves."""
    audiences = [Audience.conversation(conversation.pk)]
    if type == "participant.removed":
        audiences.append(Audience.user(participant.user_id))
        payload = {"conversation_id": str(conversation.pk), "user_id": str(participant.user_id)}
    else:
        payload = representation(participant, viewer=actor)
    for audience in audiences:
        publish(
            type=type,
            target=conversation,
            audience=audience,
            actor=actor,
            context=context,
            payload=payload,
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
        participant=participant,
        actor=actor,
        context=context,
    )
    return participant
