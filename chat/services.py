"""Writes for chat: each function is one transaction.

Ordering and locking. Every write to a conversation's contents first takes that
conversation's row lock (``FOR NO KEY UPDATE``, which does not block the foreign-key checks of
concurrent inserts), and only then reads the clock (``clock_timestamp()``) for ``sent_at`` or
``changed_at``. Writers of one conversation therefore commit in the order of their timestamps:
a client that read up to a message, or synced up to a change time, can never later find an
older row appearing behind it. The cost is that one conversation's writes queue one after
another, each for a few milliseconds; different conversations never wait for each other.

Access. A caller who is not a participant of a live conversation gets NotFound for anything
in it, the same answer as for a conversation that does not exist. A participant whose role
does not allow an action gets PermissionDenied: they can see the conversation anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Func

from accounts.models import User
from core.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed

from . import sql
from .models import (
    Conversation,
    Message,
    MessageEdit,
    MessageReaction,
    MessageType,
    Participant,
    ParticipantRole,
)
from .selectors import MESSAGE_NOT_FOUND, NOT_FOUND

MANAGERS = frozenset({ParticipantRole.OWNER, ParticipantRole.ADMIN})


class ClockTimestamp(Func):
    """``clock_timestamp()``: the time now, not when the transaction began."""

    template = "clock_timestamp()"


@dataclass(frozen=True)
class _Membership:
    conversation: Conversation
    participant: Participant


def _lock(*, conversation_id: uuid.UUID, user: User) -> _Membership:
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
    return _Membership(conversation, participant)


def _name(user: User) -> str:
    profile = getattr(user, "profile", None)
    return profile.display_name if profile is not None else user.email


def _append(
    *,
    conversation: Conversation,
    sender: User,
    content: str,
    message_type: str = MessageType.TEXT,
    metadata: dict[str, Any] | None = None,
    parent_id: uuid.UUID | None = None,
) -> Message:
    """Adds a message and moves the conversation's latest activity to it.

    Precondition: the caller holds the conversation's row lock (``_lock``) or takes it here:
    the UPDATE below locks the row before it reads the clock."""
    with connection.cursor() as db:
        db.execute(
            "UPDATE conversations SET last_activity_at = clock_timestamp() "
            "WHERE id = %s RETURNING last_activity_at",
            [conversation.pk],
        )
        (now,) = db.fetchone()
    message = Message.objects.create(
        conversation_id=conversation.pk,
        sender=sender,
        content=content,
        message_type=message_type,
        metadata=metadata or {},
        parent_id=parent_id,
        sent_at=now,
        changed_at=now,
    )
    conversation.last_activity_at = now
    return message


def _system(
    *, conversation: Conversation, actor: User, text: str, event: str, payload: dict[str, Any]
) -> Message:
    """A system message: PRODUCT.md has the service record membership changes in the
    conversation itself ("Ana added Ben"). Clients cannot post this type."""
    return _append(
        conversation=conversation,
        sender=actor,
        content=text,
        message_type=MessageType.SYSTEM,
        metadata={"event_type": event, "payload": payload},
    )


# --- conversations --------------------------------------------------------------------------


def _add(*, conversation: Conversation, actor: User, user: User, role: str) -> Participant:
    """``user`` joins with ``role``, announced by a system message in ``actor``'s name."""
    participant = Participant.objects.create(conversation=conversation, user=user, role=role)
    _system(
        conversation=conversation,
        actor=actor,
        text=f"{_name(actor)} added {_name(user)}",
        event="participant.added",
        payload={"user_id": str(user.pk), "role": role},
    )
    return participant


@transaction.atomic(durable=True)
def conversation_create(
    *,
    creator: User,
    title: str,
    participants: Sequence[tuple[User, str]] = (),
) -> Conversation:
    """Creates a conversation with the creator as its owner and the given (user, role)
    participants, each announced by a system message."""
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
        _add(conversation=conversation, actor=creator, user=user, role=role)
    return conversation


@transaction.atomic(durable=True)
def conversation_rename(*, conversation_id: uuid.UUID, actor: User, title: str) -> Conversation:
    """Owners and admins rename; the change is announced by a system message."""
    held = _lock(conversation_id=conversation_id, user=actor)
    if held.participant.role not in MANAGERS:
        raise PermissionDenied("Only owners and admins rename a conversation.")
    conversation = held.conversation
    if conversation.title != title:
        previous = conversation.title
        conversation.title = title
        conversation.save(update_fields=["title"])
        _system(
            conversation=conversation,
            actor=actor,
            text=f"{_name(actor)} renamed the conversation to “{title}”",
            event="conversation.renamed",
            payload={"title": title, "previous_title": previous},
        )
    return conversation


@transaction.atomic(durable=True)
def conversation_delete(*, conversation_id: uuid.UUID, actor: User) -> None:
    """An owner deletes (softly): from then on nobody sees it or anything in it."""
    held = _lock(conversation_id=conversation_id, user=actor)
    if held.participant.role != ParticipantRole.OWNER:
        raise PermissionDenied("Only an owner deletes a conversation.")
    Conversation.objects.filter(pk=held.conversation.pk).soft_delete()


@transaction.atomic(durable=True)
def conversation_mark_read(
    *, conversation_id: uuid.UUID, actor: User, message_id: uuid.UUID
) -> Participant:
    """Marks everything up to ``message_id`` read. The marker only moves forward: a slower
    client reporting an older message changes nothing."""
    with connection.cursor() as db:
        # My row first: the UPDATE below then starts after any concurrent post or mark-read of
        # mine has committed, and its snapshot compares against the mark that one left. (Left
        # to the UPDATE's own row lock, the recheck after the wait would look the new mark's
        # message up in the old snapshot, miss it, and move the mark back.)
        db.execute(
            "SELECT 1 FROM participants WHERE conversation_id = %(conversation)s"
            " AND user_id = %(me)s FOR NO KEY UPDATE",
            {"conversation": conversation_id, "me": actor.pk},
        )
        db.execute(
            """
            UPDATE participants p SET last_read_message_id = m.id, last_read_at = now()
            FROM messages m, conversations c
            WHERE p.conversation_id = %(conversation)s AND p.user_id = %(me)s
              AND c.id = p.conversation_id AND c.deleted_at IS NULL
              AND m.id = %(message)s AND m.conversation_id = p.conversation_id
              AND NOT EXISTS (
                  SELECT 1 FROM messages r
                  WHERE r.id = p.last_read_message_id AND (r.sent_at, r.id) >= (m.sent_at, m.id)
              )
            """,
            {"conversation": conversation_id, "me": actor.pk, "message": message_id},
        )
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
    if (
        not moved
        and not Message.objects.filter(pk=message_id, conversation_id=conversation_id).exists()
    ):
        raise NotFound(MESSAGE_NOT_FOUND)
    return participant


# --- participants ---------------------------------------------------------------------------


def _target(conversation: Conversation, user_id: uuid.UUID) -> Participant:
    participant = (
        Participant.objects.select_related("user__profile")
        .filter(conversation=conversation, user_id=user_id)
        .first()
    )
    if participant is None:
        raise NotFound("No such participant.")
    return participant


def _owners(conversation: Conversation) -> int:
    return Participant.objects.filter(conversation=conversation, role=ParticipantRole.OWNER).count()


@transaction.atomic(durable=True)
def participant_add(
    *, conversation_id: uuid.UUID, actor: User, user: User, role: str = ParticipantRole.MEMBER
) -> Participant:
    """Owners add anyone with any role; admins add members."""
    held = _lock(conversation_id=conversation_id, user=actor)
    if held.participant.role not in MANAGERS:
        raise PermissionDenied("Only owners and admins add participants.")
    if role != ParticipantRole.MEMBER and held.participant.role != ParticipantRole.OWNER:
        raise PermissionDenied("Only an owner adds admins and owners.")
    if not user.is_active:
        raise ValidationFailed(fields={"user_id": ["No such user."]})
    if Participant.objects.filter(conversation=held.conversation, user=user).exists():
        raise Conflict("This person is already a participant.", code="already_participant")
    return _add(conversation=held.conversation, actor=actor, user=user, role=role)


@transaction.atomic(durable=True)
def participant_remove(*, conversation_id: uuid.UUID, actor: User, user_id: uuid.UUID) -> None:
    """Owners remove anyone but themselves; admins remove members. Removing oneself is
    leaving (``participant_leave``)."""
    held = _lock(conversation_id=conversation_id, user=actor)
    if user_id == actor.pk:
        _leave(held, actor)
        return
    if held.participant.role not in MANAGERS:
        raise PermissionDenied("Only owners and admins remove participants.")
    target = _target(held.conversation, user_id)
    if target.role != ParticipantRole.MEMBER and held.participant.role != ParticipantRole.OWNER:
        raise PermissionDenied("Only an owner removes admins and owners.")
    Participant.objects.filter(conversation=held.conversation, user_id=user_id).delete()
    _system(
        conversation=held.conversation,
        actor=actor,
        text=f"{_name(actor)} removed {_name(target.user)}",
        event="participant.removed",
        payload={"user_id": str(user_id)},
    )


@transaction.atomic(durable=True)
def participant_set_role(
    *, conversation_id: uuid.UUID, actor: User, user_id: uuid.UUID, role: str
) -> Participant:
    """Owners change roles, their own included, as long as an owner remains."""
    held = _lock(conversation_id=conversation_id, user=actor)
    if held.participant.role != ParticipantRole.OWNER:
        raise PermissionDenied("Only an owner changes roles.")
    target = _target(held.conversation, user_id)
    if target.role == role:
        return target
    if target.role == ParticipantRole.OWNER and _owners(held.conversation) == 1:
        raise Conflict(
            "A conversation keeps at least one owner: make someone else owner first.",
            code="last_owner",
        )
    previous, target.role = target.role, role
    target.save(update_fields=["role"])
    _system(
        conversation=held.conversation,
        actor=actor,
        text=f"{_name(actor)} made {_name(target.user)} {role}",
        event="participant.role_changed",
        payload={"user_id": str(user_id), "role": role, "previous_role": previous},
    )
    return target


@transaction.atomic(durable=True)
def participant_leave(*, conversation_id: uuid.UUID, actor: User) -> None:
    """Anyone leaves, except the last owner, who hands ownership over first."""
    _leave(_lock(conversation_id=conversation_id, user=actor), actor)


def _leave(held: _Membership, actor: User) -> None:
    if held.participant.role == ParticipantRole.OWNER and _owners(held.conversation) == 1:
        raise Conflict(
            "The last owner cannot leave: make someone else owner first.", code="last_owner"
        )
    Participant.objects.filter(conversation=held.conversation, user=actor).delete()
    _system(
        conversation=held.conversation,
        actor=actor,
        text=f"{_name(actor)} left",
        event="participant.left",
        payload={"user_id": str(actor.pk)},
    )


# --- messages -------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def message_post(
    *,
    conversation_id: uuid.UUID,
    sender: User,
    content: str,
    message_type: str = MessageType.TEXT,
    metadata: dict[str, Any] | None = None,
    parent_id: uuid.UUID | None = None,
) -> Message:
    """Posts a text or file message, or a reply to a live message of the same conversation,
    and moves the sender's read mark to it.

    Three statements on the common path: the UPDATE that checks membership, locks the
    conversation, moves its latest activity and reads the clock; the INSERT; the read mark.
    Under the lock the new message is the conversation's newest, so the mark only moves
    forward."""
    if message_type == MessageType.SYSTEM:
        raise ValidationFailed(
            fields={"message_type": ["System messages are written by Atrium itself."]}
        )
    with connection.cursor() as db:
        db.execute(sql.POST_ACTIVITY, {"conversation": conversation_id, "me": sender.pk})
        row = db.fetchone()
    if row is None:
        raise NotFound(NOT_FOUND)
    (now,) = row
    if (
        parent_id is not None
        and not Message.objects.filter(pk=parent_id, conversation_id=conversation_id).exists()
    ):
        raise ValidationFailed(
            fields={"parent_id": ["No such message in this conversation."]}, code="invalid"
        )
    message = Message.objects.create(
        conversation_id=conversation_id,
        sender=sender,
        content=content,
        message_type=message_type,
        metadata=metadata or {},
        parent_id=parent_id,
        sent_at=now,
        changed_at=now,
    )
    with connection.cursor() as db:
        db.execute(
            sql.POST_READ_MARK,
            {"message": message.pk, "at": now, "conversation": conversation_id, "me": sender.pk},
        )
    return message


def _locked_message(
    *, conversation_id: uuid.UUID, message_id: uuid.UUID, actor: User
) -> tuple[_Membership, Message]:
    held = _lock(conversation_id=conversation_id, user=actor)
    message = (
        Message.objects.select_for_update(no_key=True)
        .filter(pk=message_id, conversation=held.conversation)
        .first()
    )
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return held, message


@transaction.atomic(durable=True)
def message_edit(
    *,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    actor: User,
    content: str,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """The author edits a text or file message. The content (and metadata) it had goes to
    the edit history first; under the conversation lock, so concurrent edits each record
    exactly the version they replaced and none is lost."""
    _, message = _locked_message(
        conversation_id=conversation_id, message_id=message_id, actor=actor
    )
    if message.deleted_at is not None:
        raise NotFound(MESSAGE_NOT_FOUND)
    if message.sender_id != actor.pk or message.message_type == MessageType.SYSTEM:
        raise PermissionDenied("Only the author edits a message.")
    new_metadata = message.metadata if metadata is None else metadata
    if message.content == content and message.metadata == new_metadata:
        return message
    MessageEdit.objects.create(
        message=message,
        editor=actor,
        previous_content=message.content,
        previous_metadata=message.metadata,
        edited_at=ClockTimestamp(),
    )
    Message.objects.filter(pk=message.pk).update(
        content=content,
        metadata=new_metadata,
        edited_at=ClockTimestamp(),
        changed_at=ClockTimestamp(),
    )
    message.refresh_from_db()
    return message


@transaction.atomic(durable=True)
def message_delete(*, conversation_id: uuid.UUID, message_id: uuid.UUID, actor: User) -> None:
    """The author, or an owner or admin of the conversation, deletes a message (softly: the
    row stays for moderation, the API no longer serves its content)."""
    held, message = _locked_message(
        conversation_id=conversation_id, message_id=message_id, actor=actor
    )
    if message.deleted_at is not None:
        raise NotFound(MESSAGE_NOT_FOUND)
    if message.sender_id != actor.pk and held.participant.role not in MANAGERS:
        raise PermissionDenied("Only the author or a conversation admin deletes a message.")
    Message.objects.filter(pk=message.pk).update(
        deleted_at=ClockTimestamp(), changed_at=ClockTimestamp()
    )


def _live_message(held: _Membership, message_id: uuid.UUID) -> None:
    if not Message.objects.filter(
        pk=message_id, conversation=held.conversation, deleted_at__isnull=True
    ).exists():
        raise NotFound(MESSAGE_NOT_FOUND)


def _touch_message(message_id: uuid.UUID) -> None:
    # Reactions are part of what clients show: ``since`` sync must see them change.
    Message.objects.filter(pk=message_id).update(changed_at=ClockTimestamp())


@transaction.atomic(durable=True)
def reaction_add(
    *, conversation_id: uuid.UUID, message_id: uuid.UUID, actor: User, emoji: str
) -> tuple[MessageReaction, bool]:
    """Adds the caller's emoji to a message; the second time it is already there (created
    False). The unique constraint decides races: ON CONFLICT DO NOTHING never fails."""
    held = _lock(conversation_id=conversation_id, user=actor)
    _live_message(held, message_id)
    with connection.cursor() as db:
        db.execute(
            "INSERT INTO message_reactions (id, message_id, user_id, emoji, created_at) "
            "VALUES (gen_random_uuid(), %s, %s, %s, clock_timestamp()) "
            "ON CONFLICT DO NOTHING RETURNING id",
            [message_id, actor.pk, emoji],
        )
        created = db.fetchone() is not None
    if created:
        _touch_message(message_id)
    reaction = MessageReaction.objects.get(message_id=message_id, user=actor, emoji=emoji)
    return reaction, created


@transaction.atomic(durable=True)
def reaction_remove(
    *, conversation_id: uuid.UUID, message_id: uuid.UUID, actor: User, emoji: str
) -> None:
    held = _lock(conversation_id=conversation_id, user=actor)
    _live_message(held, message_id)
    deleted, _ = MessageReaction.objects.filter(
        message_id=message_id, user=actor, emoji=emoji
    ).delete()
    if not deleted:
        raise NotFound("You have not reacted with this emoji.")
    _touch_message(message_id)
