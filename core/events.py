"""The one announcement point: every service says here what happened, inside its transaction.

``publish`` is called by a service after its rows are written. The announcement is kept with
the transaction and handed to the receivers only once it commits; a rollback drops it, so no
receiver ever hears of a change that did not happen. Receivers (the event log, the live
stream, jobs and webhooks) register with ``receiver`` and never import the services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import models, transaction

from core.context import ActionContext

logger = logging.getLogger(__name__)

AudienceKind = Literal["conversation", "document", "user", "permission"]


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may see an announcement: the participants of a conversation, whoever may read a
    document, one user (about their own account), or staff holding a permission
    ("app_label.codename")."""

    kind: AudienceKind
    key: str

    @classmethod
    def conversation(cls, conversation_id: Any) -> Audience:
        return cls("conversation", str(conversation_id))

    @classmethod
    def document(cls, document_id: Any) -> Audience:
        return cls("document", str(document_id))

    @classmethod
    def user(cls, user_id: Any) -> Audience:
        return cls("user", str(user_id))

    @classmethod
    def permission(cls, perm: str) -> Audience:
        return cls("permission", perm)


@dataclass(frozen=True, slots=True)
class Announcement:
    type: str  # "<object>.<what happened>", e.g. "message.created"
    object_type: str  # the model's label, e.g. "chat.message"
    object_id: str
    audience: Audience
    actor_id: str | None
    context: ActionContext
    payload: Mapping[str, Any] = field(default_factory=dict)


Receiver = Callable[[Announcement], None]
_receivers: list[Receiver] = []


def receiver(function: Receiver) -> Receiver:
    """Registers ``function`` to hear every committed announcement (usable as a decorator)."""
    if function not in _receivers:
        _receivers.append(function)
    return function


def disconnect(function: Receiver) -> None:
    if function in _receivers:
        _receivers.remove(function)


def publish(
    *,
    type: str,
    target: models.Model,
    audience: Audience,
    actor: Any,
    context: ActionContext,
    payload: Mapping[str, Any] | None = None,
) -> Announcement:
    """Announces that ``type`` happened to ``target``; receivers hear of it after commit.

    Must be called inside the service's transaction: outside one there is nothing to wait
    for, which would mean the service wrote without owning a transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish() belongs inside the service's transaction.")
    announcement = Announcement(
        type=type,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        audience=audience,
        actor_id=str(actor.pk) if actor is not None and actor.is_authenticated else None,
        context=context,
        payload=dict(payload or {}),
    )
    transaction.on_commit(lambda: _deliver(announcement))
    return announcement


def _deliver(announcement: Announcement) -> None:
    # One receiver failing must not keep the others from hearing: the change is committed.
    for function in list(_receivers):
        try:
            function(announcement)
        except Exception:
            logger.exception("Receiver %r failed on %s", function, announcement.type)
