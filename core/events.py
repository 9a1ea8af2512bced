"""The one announcement point: every service says here what happened, inside its transaction.

``publish`` is called by a service after its rows are written. It writes the event's row in
the ``events`` table (core.models.Event) in the same transaction, so the log holds the event
exactly when the change committed, and PostgreSQL wakes the LISTENers of ``CHANNEL`` at commit.
The announcement, carrying the event's id, is handed to the in-process receivers (jobs,
webhooks) only once the transaction commits; a rollback drops row and announcement alike, so
nobody ever hears of a change that did not happen. Receivers register with ``receiver`` and
never import the services.

Who may read an event is decided when it is read, not when it is written: a participant
removed from a conversation stops seeing its events, old ones included. Each audience kind
has a resolver, registered by the app that knows the rule (``register_audience`` from its
AppConfig.ready(), in ``<app>/event_audience.py``); ``events_after`` turns them into one query
per page, whatever the number of conversations or documents.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from core import sql
from core.context import ActionContext
from core.models import Event

logger = logging.getLogger(__name__)

# The PostgreSQL channel every committed event is notified on, its id as the payload
# (migration core/0004 holds the trigger).
CHANNEL = "atrium_events"

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
    event_id: int  # the row in ``events``: the stream's cursor
    payload: Mapping[str, Any] = field(default_factory=dict)


Receiver = Callable[[Announcement], None]
_receivers: list[Receiver] = []

# An object's API representation as ``viewer`` would GET it, as plain JSON values. Fields
# that depend on the caller (a document's ``access``, a conversation's unread count, whether
# "me" is among a reaction's senders) are the viewer's.
Representer = Callable[[Any, Any], Mapping[str, Any]]
_representers: dict[str, Representer] = {}


def register_representation(label: str, represent: Representer) -> None:
    """Makes ``represent(obj, viewer)`` the payload of the events about objects of model
    ``label`` ("app_label.model"). Called from the owning app's AppConfig.ready() with the very
    function its API answers ``GET`` with, so an event carries what the API would return at
    that moment and never a shape of its own."""
    registered = _representers.setdefault(label, represent)
    if registered is not represent:
        raise RuntimeError(f"{label!r} already has a representation: {registered!r}.")


def representation(obj: models.Model, *, viewer: Any) -> dict[str, Any]:
    """``obj`` as the API represents it to ``viewer``, by its model's registered representer.
    JSON values only (what the API's renderer would write, parsed back)."""
    label = obj._meta.label_lower
    try:
        represent = _representers[label]
    except KeyError:
        raise LookupError(f"No representation is registered for {label!r}.") from None
    return _as_json(represent(obj, viewer))


def _as_json(data: Mapping[str, Any]) -> dict[str, Any]:
    # Serializers leave ids, decimals and the like as Python values for the renderer; the
    # event row stores JSON, and receivers hear what a reader of the row would.
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return plain


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

    The payload is ``target``'s API representation as ``actor`` sees it
    (``representation``), unless the service passes another: the representation of the
    object the event is about when ``target`` is its parent, or, for a deletion, the ids that
    name what went.

    Must be called inside the service's transaction: outside one there is nothing to wait
    for, which would mean the service wrote without owning a transaction.

    Writing the row makes the transaction wait until every other transaction that wrote events
    has ended (the commit-order lock of migration core/0004, held to commit), so publish as the
    service's last step, after its row locks: the wait is then only as long as other commits,
    and no transaction holding that lock ever waits for one of this service's rows."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish() belongs inside the service's transaction.")
    actor_id = str(actor.pk) if actor is not None and actor.is_authenticated else None
    payload = representation(target, viewer=actor) if payload is None else _as_json(payload)
    object_type, object_id = target._meta.label_lower, str(target.pk)
    # core/sql.py's statement, the one the benchmark floors send for every write.
    with connection.cursor() as cursor:
        cursor.execute(
            sql.INSERT_EVENT,
            sql.event_params(
                type=type,
                object_type=object_type,
                object_id=object_id,
                payload=payload,
                actor_id=actor_id,
                audience_kind=audience.kind,
                audience_key=audience.key,
                request_id=context.request_id,
            ),
        )
        (event_id,) = cursor.fetchone()
    announcement = Announcement(
        type=type,
        object_type=object_type,
        object_id=object_id,
        audience=audience,
        actor_id=actor_id,
        context=context,
        event_id=event_id,
        payload=payload,
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


# ``may(perm)``: whether the credential the reader came with allows ``perm`` (the user's roles,
# narrowed by an API key's scopes); ``user.has_perm`` where there is no credential.
May = Callable[[str], bool]
# The audience keys of one kind that ``user`` may see now: a one-column queryset of text (run
# as a subquery of the page's query, never fetched on its own) or a small collection already
# in memory; None when the reader may see none.
Resolver = Callable[[Any, May], "models.QuerySet[Any, Any] | Collection[str] | None"]


class Refresh(enum.Enum):
    """Whose keys of an audience kind an event may change. A reader that holds its keys in
    memory (the live stream, core/stream.py) fetches them again when such an event reaches it;
    a reader that resolves them per page (``events_after``) needs none of this."""

    # The user the payload names as ``user_id``: added to or removed from the audience.
    NAMED = "named"
    # Whoever holds the event's key: the object was deleted, so nobody reads it any more.
    HOLDERS = "holders"
    # Anyone: the object came back, and who reads it again is only known by asking.
    EVERYONE = "everyone"


_resolvers: dict[str, Resolver] = {}
_refreshes: dict[str, tuple[str, Refresh]] = {}


def register_audience(
    kind: str, resolver: Resolver, *, changed_by: Mapping[str, Refresh] | None = None
) -> None:
    """Makes ``resolver`` decide who reads events of audience ``kind``; called from the owning
    app's AppConfig.ready(). ``changed_by`` names the event types after which a reader's keys
    of this kind may differ, and whose. A second, different resolver for one kind is a wiring
    mistake."""
    registered = _resolvers.setdefault(kind, resolver)
    if registered is not resolver:
        raise RuntimeError(f"The {kind!r} audience already has a resolver: {registered!r}.")
    for type, refresh in (changed_by or {}).items():
        _refreshes[type] = (kind, refresh)


def refresh_after(type: str) -> tuple[str, Refresh] | None:
    """The audience kind an event of ``type`` may change for some readers, and whose."""
    return _refreshes.get(type)


def audience_keys(*, user: Any, may: May) -> dict[str, frozenset[str]]:
    """Every audience key ``user`` may read now, by kind: one query per kind a table decides.
    What a reader that filters in memory holds (core/stream.py), refreshed per ``Refresh``."""
    keys = {}
    for kind, resolver in _resolvers.items():
        found = resolver(user, may)
        if found is None:
            continue
        if isinstance(found, models.QuerySet):
            # The resolver's one column, whatever it named it.
            found = [next(iter(row.values())) if isinstance(row, dict) else row for row in found]
        if found:
            keys[kind] = frozenset(str(key) for key in found)
    return keys


def _own_account(user: Any, may: May) -> Collection[str]:
    return [str(user.pk)]


register_audience("user", _own_account)


def events_after(
    *,
    user: Any,
    after: int,
    limit: int,
    types: Collection[str] = (),
    may: May | None = None,
) -> list[Event]:
    """Up to ``limit`` events ``user`` may read now whose id is above ``after``, in id order;
    ``types`` narrows them to those types. One query, whatever the number of audiences.

    One branch per audience kind, each ordered and limited on its own, joined by UNION ALL:
    each branch can then walk the (audience_kind, audience_key, id) index from the cursor,
    which a single WHERE with one OR per kind would keep PostgreSQL from doing."""
    may = may or user.has_perm
    branches = []
    for kind, resolver in _resolvers.items():
        keys = resolver(user, may)
        # A queryset is a subquery and is never evaluated here; an empty collection is no
        # audience at all.
        if keys is None or (not isinstance(keys, models.QuerySet) and not keys):
            continue
        branch = Event.objects.filter(audience_kind=kind, audience_key__in=keys, id__gt=after)
        if types:
            branch = branch.filter(type__in=types)
        branches.append(branch.order_by("id")[:limit])
    if not branches:
        return []
    first, *others = branches
    if not others:
        return list(first)
    return list(first.union(*others, all=True).order_by("id")[:limit])


def count_older(*, before: datetime) -> int:
    """How many events occurred before ``before`` (what a purge would remove)."""
    return Event.objects.filter(occurred_at__lt=before).count()


def purge_older(*, before: datetime, batch_size: int) -> int:
    """Deletes up to ``batch_size`` events that occurred before ``before``; returns how many.

    Retention is the only reason events leave the table. Small batches, each its own statement
    (and so its own transaction), keep locks and WAL per statement short on a large table."""
    batch = Event.objects.filter(occurred_at__lt=before).order_by().values("id")[:batch_size]
    deleted, _ = Event.objects.filter(id__in=batch).delete()
    return deleted
