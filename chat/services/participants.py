"""Who is in a conversation, with which role: adding, removing, changing a role, leaving.
Each change is also written into the conversation as a system message."""

from __future__ import annotations

import uuid

from django.db import transaction

from accounts.models import User
from core.context import ActionContext
from core.exceptions import Conflict, NotFound, PermissionDenied

from ..models import Conversation, Participant, ParticipantRole
from ._shared import (
    MANAGERS,
    Membership,
    add_participant,
    announce_participant,
    display_name,
    lock,
    system_message,
)


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
    *,
    conversation_id: uuid.UUID,
    actor: User,
    user: User,
    role: str = ParticipantRole.MEMBER,
    context: ActionContext,
) -> Participant:
    """Owners add anyone with any role; admins add members."""
    held = lock(conversation_id=conversation_id, user=actor)
    if held.participant.role not in MANAGERS:
        raise PermissionDenied("Only owners and admins add participants.")
    if role != ParticipantRole.MEMBER and held.participant.role != ParticipantRole.OWNER:
        raise PermissionDenied("Only an owner adds admins and owners.")
    if Participant.objects.filter(conversation=held.conversation, user=user).exists():
        raise Conflict("This person is already a participant.", code="already_participant")
    return add_participant(
        conversation=held.conversation,
        actor=actor,
        user=user,
        role=role,
        context=context,
        field="user_id",
    )


@transaction.atomic(durable=True)
def participant_remove(
    *, conversation_id: uuid.UUID, actor: User, user_id: uuid.UUID, context: ActionContext
) -> None:
    """Owners remove anyone but themselves; admins remove members. Removing oneself is
    leaving (``participant_leave``)."""
    held = lock(conversation_id=conversation_id, user=actor)
    if user_id == actor.pk:
        _leave(held, actor, context)
        return
    if held.participant.role not in MANAGERS:
        raise PermissionDenied("Only owners and admins remove participants.")
    target = _target(held.conversation, user_id)
    if target.role != ParticipantRole.MEMBER and held.participant.role != ParticipantRole.OWNER:
        raise PermissionDenied("Only an owner removes admins and owners.")
    Participant.objects.filter(conversation=held.conversation, user_id=user_id).delete()
    system_message(
        conversation=held.conversation,
        actor=actor,
        context=context,
        text=f"{display_name(actor)} removed {display_name(target.user)}",
        event="participant.removed",
        payload={"user_id": str(user_id)},
    )
    announce_participant(
        "participant.removed",
        conversation=held.conversation,
        participant=target,
        actor=actor,
        context=context,
    )


@transaction.atomic(durable=True)
def participant_set_role(
    *,
    conversation_id: uuid.UUID,
    actor: User,
    user_id: uuid.UUID,
    role: str,
    context: ActionContext,
) -> Participant:
    """Owners change roles, their own included, as long as an owner remains."""
    held = lock(conversation_id=conversation_id, user=actor)
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
    system_message(
        conversation=held.conversation,
        actor=actor,
        context=context,
        text=f"{display_name(actor)} made {display_name(target.user)} {role}",
        event="participant.role_changed",
        payload={"user_id": str(user_id), "role": role, "previous_role": previous},
    )
    announce_participant(
        "participant.role_changed",
        conversation=held.conversation,
        participant=target,
        actor=actor,
        context=context,
    )
    return target


@transaction.atomic(durable=True)
def participant_leave(*, conversation_id: uuid.UUID, actor: User, context: ActionContext) -> None:
    """Anyone leaves, except the last owner, who hands ownership over first."""
    _leave(lock(conversation_id=conversation_id, user=actor), actor, context)


def _leave(held: Membership, actor: User, context: ActionContext) -> None:
    if held.participant.role == ParticipantRole.OWNER and _owners(held.conversation) == 1:
        raise Conflict(
            "The last owner cannot leave: make someone else owner first.", code="last_owner"
        )
    Participant.objects.filter(conversation=held.conversation, user=actor).delete()
    system_message(
        conversation=held.conversation,
        actor=actor,
        context=context,
        text=f"{display_name(actor)} left",
        event="participant.left",
        payload={"user_id": str(actor.pk)},
    )
    # Leaving is removing oneself: one kind of announcement for "no longer in it".
    announce_participant(
        "participant.removed",
        conversation=held.conversation,
        participant=held.participant,
        actor=actor,
        context=context,
    )
