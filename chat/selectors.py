"""Reads for chat.

Only participants see a conversation or anything in it: every selector takes the caller and
answers "not found" alike for a conversation that does not exist, one that was deleted and one
the caller is not in.

The hot lists (a conversation's messages, my conversations, threads, search) are one statement
each, whose JSON PostgreSQL builds; their SQL is in chat/sql.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.db import connection, connections
from django.db.models import QuerySet

from accounts.models import User
from core.exceptions import NotFound
from core.routing import read_alias

from . import sql
from .cursors import Cursor
from .models import Conversation, Message, MessageEdit, Participant
from .sql import UNREAD_COUNT_CAP, Page

__all__ = [
    "UNREAD_COUNT_CAP",
    "Page",
    "conversation_json",
    "conversation_page",
    "membership",
    "message_edit_list",
    "message_json",
    "message_page",
    "participant_list",
    "search_page",
    "thread_page",
]

NOT_FOUND = "No such conversation."
MESSAGE_NOT_FOUND = "No such message."


def _run(query: sql.PageQuery) -> tuple[list[Any], Page]:
    with connections[read_alias()].cursor() as db:
        db.execute(query.sql, query.params)
        return query.read(db.fetchone())


def _one(statement: tuple[str, dict[str, Any]]) -> str | None:
    with connections[read_alias()].cursor() as db:
        db.execute(*statement)
        row = db.fetchone()
    return None if row is None else row[0]


def message_page(
    *,
    conversation_id: uuid.UUID,
    user_id: uuid.UUID,
    page_size: int,
    cursor: Cursor | None = None,
    before: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
    since: datetime | None = None,
) -> Page:
    """A page of a conversation's messages, in one statement.

    - default: the newest messages, newest first; ``next`` continues to older ones;
    - ``before``: the messages older than that one, newest first;
    - ``after``: the messages newer than that one, oldest first; ``next`` continues to newer
      ones until the present;
    - ``since``: what changed after that time (sent, edited, deleted or reacted to), oldest
      change first, deleted messages included as tombstones, for clients that sync;
    - ``cursor``: continues whichever of these produced it.

    Deleted messages are left out of every list but ``since``. Raises NotFound when the caller
    is not a participant, or when ``before``/``after`` names no message of the conversation.
    """
    flags, page = _run(
        sql.message_page(
            conversation_id=conversation_id,
            user_id=user_id,
            page_size=page_size,
            cursor=cursor,
            before=before,
            after=after,
            since=since,
        )
    )
    if not flags[0]:
        raise NotFound(NOT_FOUND)
    if len(flags) > 1 and not flags[1]:
        raise NotFound(MESSAGE_NOT_FOUND)
    return page


def message_json(*, conversation_id: uuid.UUID, message_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """One live message as JSON text; NotFound unless the caller may see it."""
    found = _one(
        sql.message_json(conversation_id=conversation_id, message_id=message_id, user_id=user_id)
    )
    if found is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return found


def thread_page(
    *,
    conversation_id: uuid.UUID,
    parent_id: uuid.UUID,
    user_id: uuid.UUID,
    page_size: int,
    cursor: Cursor | None = None,
) -> tuple[str, Page]:
    """A thread: its parent message (JSON text; a tombstone when deleted, so the replies keep
    their context) and a page of its live replies, oldest first."""
    (allowed, parent), page = _run(
        sql.thread_page(
            conversation_id=conversation_id,
            parent_id=parent_id,
            user_id=user_id,
            page_size=page_size,
            cursor=cursor,
        )
    )
    if not allowed:
        raise NotFound(NOT_FOUND)
    if parent is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return parent, page


def search_page(
    *,
    user_id: uuid.UUID,
    query: str,
    page_size: int,
    conversation_id: uuid.UUID | None = None,
    cursor: Cursor | None = None,
) -> Page:
    """Live messages matching ``query`` (web-search syntax: words, "phrases", -excluded, or)
    in the conversations the caller is in, newest first. The GIN index on search_vector finds
    the matches; the join keeps the caller's conversations."""
    _, page = _run(
        sql.search_page(
            user_id=user_id,
            query=query,
            page_size=page_size,
            conversation_id=conversation_id,
            cursor=cursor,
        )
    )
    return page


def conversation_page(*, user_id: uuid.UUID, page_size: int, cursor: Cursor | None = None) -> Page:
    """My live conversations, latest activity first, each with my role and my unread count
    (messages of others after my last read one, up to UNREAD_COUNT_CAP)."""
    _, page = _run(sql.conversation_page(user_id=user_id, page_size=page_size, cursor=cursor))
    return page


def conversation_json(*, conversation_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """One of my conversations as the list shows it; NotFound unless I am in it."""
    found = _one(sql.conversation_json(conversation_id=conversation_id, user_id=user_id))
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def _written(statement: tuple[str, dict[str, Any]]) -> dict[str, Any] | None:
    # Inside the writing transaction, on its connection: the rows as they are about to commit.
    with connection.cursor() as db:
        db.execute(*statement)
        row = db.fetchone()
    represented: dict[str, Any] | None = None if row is None else json.loads(row[0])
    return represented


def message_representation(message: Message, viewer: User | None) -> dict[str, Any]:
    """The message as the messages endpoint serves it to ``viewer`` (chat/sql.py's
    MESSAGE_JSON), whatever its state: the payload of the events about it."""
    represented = _written(
        sql.message_representation(
            message_id=message.pk, user_id=None if viewer is None else viewer.pk
        )
    )
    if represented is None:
        raise Message.DoesNotExist(f"No message {message.pk} to announce.")
    return represented


def conversation_representation(conversation: Conversation, viewer: User | None) -> dict[str, Any]:
    """The conversation as its endpoint serves it to ``viewer`` (chat/sql.py's
    CONVERSATION_JSON; as its owner sees it when ``viewer`` is not in it): the payload of the
    events about it."""
    represented = _written(
        sql.conversation_representation(
            conversation_id=conversation.pk, user_id=None if viewer is None else viewer.pk
        )
    )
    # Nobody is in it (staff restoring an emptied conversation): nobody can GET it, nor read
    # its events; the id names it.
    return {"id": str(conversation.pk)} if represented is None else represented


def membership(*, conversation_id: uuid.UUID, user_id: uuid.UUID) -> Participant:
    """The caller's participant row in a live conversation, or NotFound."""
    participant = (
        Participant.objects.filter(
            conversation_id=conversation_id, user_id=user_id, conversation__deleted_at__isnull=True
        )
        .select_related("conversation")
        .first()
    )
    if participant is None:
        raise NotFound(NOT_FOUND)
    return participant


def participant_list(*, conversation_id: uuid.UUID, user_id: uuid.UUID) -> QuerySet[Participant]:
    """The participants of a conversation I am in, with their public profile."""
    membership(conversation_id=conversation_id, user_id=user_id)
    return Participant.objects.filter(conversation_id=conversation_id).select_related(
        "user__profile"
    )


def message_edit_list(
    *, conversation_id: uuid.UUID, message_id: uuid.UUID, user_id: uuid.UUID
) -> QuerySet[MessageEdit]:
    """The edit history of a live message of a conversation I am in, oldest edit first.

    NotFound for a message that is not the conversation's (or no longer live), as for one
    the caller may not see: filtering the edits by it would answer an empty history."""
    visible = Message.objects.filter(
        pk=message_id,
        conversation_id=conversation_id,
        deleted_at__isnull=True,
        conversation__deleted_at__isnull=True,
        conversation__participant__user_id=user_id,
    )
    if not visible.exists():
        raise NotFound(MESSAGE_NOT_FOUND)
    return MessageEdit.objects.filter(message_id=message_id)
