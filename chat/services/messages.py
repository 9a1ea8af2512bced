"""Messages: posting, editing, deleting, and what a message's content must be.

The rules of content (``content_error``, ``metadata_error``) are the services'; the API's
serializers call the same functions to name the field before any query runs."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from django.db import connection, transaction

from accounts.models import User
from core.context import ActionContext
from core.exceptions import NotFound, PermissionDenied, ValidationFailed
from core.services.idempotency import idempotent_write

from .. import sql
from ..models import METADATA_MAX_BYTES, Message, MessageEdit, MessageType
from ..selectors import MESSAGE_NOT_FOUND, NOT_FOUND
from ._shared import (
    MANAGERS,
    ClockTimestamp,
    Membership,
    announce_message,
    announce_removal,
    insert_message,
    lock,
)

MAX_CONTENT_LENGTH = 10_000
EVENT_TYPE_MAX_LENGTH = 64
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
FILE_EVENT = "file.attached"
FILE_URL = re.compile(r"^https?://\S+$")

METADATA_ERRORS = {
    "shape": 'Metadata is {} or {"event_type": "...", "payload": {...}} and nothing else.',
    "event_type": "event_type is a dotted lowercase name such as 'file.attached'.",
    "size": f"Metadata is at most {METADATA_MAX_BYTES} bytes of JSON.",
}
FILE_NEEDED = (
    f'A file message needs {{"event_type": "{FILE_EVENT}", '
    '"payload": {"name": "<file name>", "url": "https://..."}}.'
)


def _jsonb_size(value: Any) -> int:
    # The size PostgreSQL's check measures: octet_length(metadata::text), where jsonb's text
    # puts a space after each ':' and ','.
    return len(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")).encode())


def metadata_error(metadata: Any) -> str | None:
    """Why ``metadata`` is not ``{}`` or ``{"event_type": "<dotted.name>", "payload": {...}}``
    within METADATA_MAX_BYTES (a key of METADATA_ERRORS), or None."""
    if metadata == {}:
        return None
    if not isinstance(metadata, dict) or set(metadata) != {"event_type", "payload"}:
        return "shape"
    if not isinstance(metadata["payload"], dict):
        return "shape"
    event_type = metadata["event_type"]
    if not (isinstance(event_type, str) and len(event_type) <= EVENT_TYPE_MAX_LENGTH):
        return "event_type"
    if not EVENT_TYPE.match(event_type):
        return "event_type"
    if _jsonb_size(metadata) > METADATA_MAX_BYTES:
        return "size"
    return None


def content_error(
    *, message_type: str, content: str, metadata: dict[str, Any]
) -> dict[str, str] | None:
    """What is wrong with a text or file message's content, by field, or None: a text message
    has some text, a file message names its file."""
    if len(content) > MAX_CONTENT_LENGTH:
        return {"content": f"A message is at most {MAX_CONTENT_LENGTH} characters."}
    if message_type == MessageType.TEXT and not content.strip():
        return {"content": "A text message needs some text."}
    if message_type == MessageType.FILE:
        payload = metadata.get("payload") or {}
        name, url = payload.get("name"), payload.get("url")
        if (
            metadata.get("event_type") != FILE_EVENT
            or not isinstance(name, str)
            or not name.strip()
            or not isinstance(url, str)
            or not FILE_URL.match(url)
        ):
            return {"metadata": FILE_NEEDED}
    return None


def _check(*, message_type: str, content: str, metadata: dict[str, Any]) -> None:
    if message_type == MessageType.SYSTEM:
        raise ValidationFailed(
            fields={"message_type": ["System messages are written by Atrium itself."]}
        )
    if message_type not in MessageType.values:
        raise ValidationFailed(fields={"message_type": ["A message is text or file."]})
    problem = metadata_error(metadata)
    if problem is not None:
        raise ValidationFailed(fields={"metadata": [METADATA_ERRORS[problem]]})
    errors = content_error(message_type=message_type, content=content, metadata=metadata)
    if errors:
        raise ValidationFailed(fields={name: [text] for name, text in errors.items()})


@idempotent_write
def message_post(
    *,
    conversation_id: uuid.UUID,
    sender: User,
    content: str,
    message_type: str = MessageType.TEXT,
    metadata: dict[str, Any] | None = None,
    parent_id: uuid.UUID | None = None,
    context: ActionContext,
) -> Message:
    """Posts a text or file message, or a reply to a message of the same conversation, and
    moves the sender's read mark to it.

    Three statements on the common path, all chat/sql.py's: the UPDATE that checks
    membership, locks the conversation, moves its latest activity and reads the clock; the
    INSERT; the read mark. Under the lock the new message is the conversation's newest, so
    the mark only moves forward."""
    _check(message_type=message_type, content=content, metadata=metadata or {})
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
    message, represented = insert_message(
        conversation_id=conversation_id,
        sender=sender,
        content=content,
        message_type=message_type,
        metadata=metadata,
        parent_id=parent_id,
        at=now,
    )
    with connection.cursor() as db:
        db.execute(
            sql.POST_READ_MARK,
            {"message": message.pk, "at": now, "conversation": conversation_id, "me": sender.pk},
        )
    announce_message(
        "message.created", message, actor=sender, context=context, represented=represented
    )
    return message


def locked_message(
    *, conversation_id: uuid.UUID, message_id: uuid.UUID, actor: User
) -> tuple[Membership, Message]:
    """The conversation's lock, then the message's row lock; NotFound for a message that is
    not in the conversation or is deleted."""
    held = lock(conversation_id=conversation_id, user=actor)
    message = (
        Message.objects.select_for_update(no_key=True)
        .filter(pk=message_id, conversation=held.conversation)
        .first()
    )
    if message is None or message.deleted_at is not None:
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
    context: ActionContext,
) -> Message:
    """The author edits a text or file message. The content (and metadata) it had goes to
    the edit history first; under the conversation lock, so concurrent edits each record
    exactly the version they replaced and none is lost."""
    _, message = locked_message(conversation_id=conversation_id, message_id=message_id, actor=actor)
    if message.sender_id != actor.pk or message.message_type == MessageType.SYSTEM:
        raise PermissionDenied("Only the author edits a message.")
    new_metadata = message.metadata if metadata is None else metadata
    _check(message_type=message.message_type, content=content, metadata=new_metadata or {})
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
    announce_message("message.edited", message, actor=actor, context=context)
    return message


@transaction.atomic(durable=True)
def message_delete(
    *,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    actor: User,
    context: ActionContext,
) -> None:
    """The author, or an owner or admin of the conversation, deletes a message (softly: the
    row stays for moderation, the API no longer serves its content)."""
    held, message = locked_message(
        conversation_id=conversation_id, message_id=message_id, actor=actor
    )
    if message.sender_id != actor.pk and held.participant.role not in MANAGERS:
        raise PermissionDenied("Only the author or a conversation admin deletes a message.")
    Message.objects.filter(pk=message.pk).update(
        deleted_at=ClockTimestamp(), changed_at=ClockTimestamp()
    )
    announce_removal("message.deleted", message, actor=actor, context=context)
