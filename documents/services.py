"""Writes for documents: each function is one transaction.

Every change of title or content goes through ``_write``: under the document's row lock it
compares the version the caller read with the current one, moves ``version`` on by one and
writes the matching ``document_versions`` row, so the history has neither gaps nor duplicates
(the unique ``(document_id, version)`` constraint is the last line). Share changes take the
same lock, so a grant or revocation never interleaves with an edit's access check.

Each write announces what happened (core.events) inside its transaction, so receivers hear of
it on commit only; share changes are audited too. Callers pass the actor and the
``ActionContext`` of the action (the API and the admin build it from the request, commands and
the demo pass ``core.context.SYSTEM``).
"""

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, cast

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from core import audit
from core.context import ActionContext
from core.events import Audience, publish, representation
from core.exceptions import (
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ValidationFailed,
)
from core.models import AuditAction
from core.services.idempotency import idempotent_write

from . import selectors, sql
from .models import Document, DocumentShare, ShareLevel

SHARE_MAX_LIFETIME = timedelta(days=365)
# A CharField's max_length is always set; the stubs type any field's as optional.
TITLE_MAX_LENGTH = cast(int, Document._meta.get_field("title").max_length)
NOTE_MAX_LENGTH = 1000
# Staff moderate any document (move to the trash, bring back) with this permission.
MODERATE_PERMISSION = "documents.delete_document"


class _Unset(enum.Enum):
    """An argument left out, where ``None`` is a value the caller may pass."""

    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET

# The ids a caller names a document or a user by: a UUID, or its text from a URL.
Id = uuid.UUID | str


def _check_title(title: str) -> None:
    if not title.strip():
        raise ValidationFailed(fields={"title": ["A document needs a title."]})
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationFailed(
            fields={"title": [f"Ensure this field has no more than {TITLE_MAX_LENGTH} characters."]}
        )


def _add_version(*, document: Document, actor: User, note: str = "") -> None:
    """The version row of the document's current title and content: every version row is
    written here, with the statement the benchmark floor sends."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.INSERT_VERSION,
            [document.pk, document.version, document.title, document.content, note, actor.pk],
        )


def _announce(type: str, *, document: Document, actor: User, context: ActionContext) -> None:
    """Tells whoever may read the document what happened to it, once the change commits: the
    document as GET answers it to ``actor`` (whose ``access_level`` the document carries), or,
    for document.deleted, its id only."""
    publish(
        type=type,
        target=document,
        audience=Audience.document(document.pk),
        actor=actor,
        context=context,
        payload={"id": str(document.pk)} if type == "document.deleted" else None,
    )


@idempotent_write
def document_create(*, actor: User, title: str, content: str, context: ActionContext) -> Document:
    """A new document of ``actor``'s at version 1, with its first version row."""
    _check_title(title)
    document = Document.objects.create(owner=actor, title=title, content=content)
    _add_version(document=document, actor=actor)
    # What the serializer reads from the documents the selectors annotate; no field declares it.
    document.access_level = ShareLevel.OWNER.value  # type: ignore[attr-defined]
    _announce("document.created", document=document, actor=actor, context=context)
    return document


def _check_version(document: Document, expected_version: int | None) -> None:
    """Refuses the write unless the caller read the current version. ``None`` stands for an
    ``If-Match`` that names no version this document could have."""
    if expected_version != document.version:
        sent = "an unknown version" if expected_version is None else f"version {expected_version}"
        raise PreconditionFailed(
            f"The document is at version {document.version}; you sent a change to {sent}."
            " Read it again and reapply your change.",
            extensions={"current_version": document.version},
            headers={"ETag": f'"{document.version}"'},
        )


def _editable(*, actor: User, document_id: Id, expected_version: int | None) -> Document:
    """The live document, locked, after checking the actor may edit it and read its current
    version. Caller is inside a transaction."""
    access = selectors.document_access(user=actor, document_id=document_id, lock=True)
    if not access.can_edit:
        raise PermissionDenied("Your share of this document does not allow editing.")
    _check_version(access.document, expected_version)
    return access.document


def _write(
    *,
    document: Document,
    actor: User,
    title: str,
    content: str,
    context: ActionContext,
    note: str = "",
) -> Document:
    """Makes ``title`` and ``content`` the next version of the locked ``document`` and
    announces it; nothing is written when neither changes."""
    _check_title(title)
    if title == document.title and content == document.content:
        return document
    with connection.cursor() as cursor:
        cursor.execute(sql.WRITE_NEXT_VERSION, [title, content, document.pk, document.version])
        row = cursor.fetchone()
    if row is None:
        raise PreconditionFailed("The document changed while this edit was being saved.")
    document.version, document.updated_at = row
    document.title, document.content = title, content
    _add_version(document=document, actor=actor, note=note)
    _announce("document.updated", document=document, actor=actor, context=context)
    return document


def document_update(
    *,
    actor: User,
    document_id: Id,
    expected_version: int | None,
    title: str | None = None,
    content: str | None = None,
    context: ActionContext,
) -> Document:
    """Changes the title and/or the content (``None`` keeps it) of the version the actor
    read."""
    with transaction.atomic(durable=True):
        document = _editable(
            actor=actor, document_id=document_id, expected_version=expected_version
        )
        return _write(
            document=document,
            actor=actor,
            title=document.title if title is None else title,
            content=document.content if content is None else content,
            context=context,
        )


def version_restore(
    *,
    actor: User,
    document_id: Id,
    number: int,
    expected_version: int | None,
    note: str = "",
    context: ActionContext,
) -> Document:
    """Makes an old version's title and content the next version, noting where it came from.
    A version written without a title (by a contract-only writer) keeps the current title."""
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationFailed(
            fields={"note": [f"Ensure this field has no more than {NOTE_MAX_LENGTH} characters."]}
        )
    with transaction.atomic(durable=True):
        document = _editable(
            actor=actor, document_id=document_id, expected_version=expected_version
        )
        old = selectors.version_get(document=document, number=number)
        reason = f"Restored from version {number}" + (f": {note}" if note else "")
        return _write(
            document=document,
            actor=actor,
            title=old.title or document.title,
            content=old.content,
            note=reason,
            context=context,
        )


def _managed(*, actor: User, document_id: Id, deleted: bool = False) -> Document:
    """The document, locked, after checking the actor may share, delete and restore it."""
    access = selectors.document_access(
        user=actor, document_id=document_id, deleted=deleted, lock=True
    )
    if not access.can_manage:
        raise PermissionDenied("Only the document's owners may do this.")
    return access.document


def _trash(*, document: Document, actor: User, context: ActionContext) -> None:
    Document.objects.filter(pk=document.pk).soft_delete()
    audit.record(
        action=AuditAction.DOCUMENT_DELETED,
        actor=actor,
        target=document,
        before={"title": document.title, "version": document.version},
        context=context,
    )
    _announce("document.deleted", document=document, actor=actor, context=context)


def _untrash(*, document: Document, actor: User, context: ActionContext) -> None:
    Document.all_objects.filter(pk=document.pk).restore()
    # The restore moved updated_at (the table's trigger), which GET and the event show.
    document.refresh_from_db(fields=["deleted_at", "updated_at"])
    if not hasattr(document, "access_level"):
        # Staff moderating: the event shows the document as its owner sees it.
        document.access_level = ShareLevel.OWNER.value  # type: ignore[attr-defined]
    audit.record(
        action=AuditAction.DOCUMENT_RESTORED,
        actor=actor,
        target=document,
        after={"title": document.title, "version": document.version},
        context=context,
    )
    _announce("document.restored", document=document, actor=actor, context=context)


def document_delete(
    *, actor: User, document_id: Id, expected_version: int | None, context: ActionContext
) -> None:
    """Moves the document to the trash, if the actor read its current version."""
    with transaction.atomic(durable=True):
        document = _managed(actor=actor, document_id=document_id)
        _check_version(document, expected_version)
        _trash(document=document, actor=actor, context=context)


def document_restore(*, actor: User, document_id: Id, context: ActionContext) -> Document:
    """Brings a document back from the trash, at the version it had."""
    with transaction.atomic(durable=True):
        document = _managed(actor=actor, document_id=document_id, deleted=True)
        _untrash(document=document, actor=actor, context=context)
    return document


def _moderated(*, actor: User, document_id: Id, deleted: bool) -> Document | None:
    """For staff: the document, locked, when it is in the state the moderation changes
    (``None`` otherwise: someone already moved it, and there is nothing left to do)."""
    if not actor.has_perm(MODERATE_PERMISSION):
        raise PermissionDenied("Moderating documents needs the permission to delete them.")
    documents = Document.all_objects.select_for_update().filter(pk=document_id)
    return (documents.deleted() if deleted else documents.alive()).first()


def document_moderate_delete(*, actor: User, document_id: Id, context: ActionContext) -> bool:
    """Staff move any live document to the trash, whoever owns it; ``False`` when it was
    not live."""
    with transaction.atomic(durable=True):
        document = _moderated(actor=actor, document_id=document_id, deleted=False)
        if document is None:
            return False
        _trash(document=document, actor=actor, context=context)
    return True


def document_moderate_restore(*, actor: User, document_id: Id, context: ActionContext) -> bool:
    """Staff bring any document back from the trash; ``False`` when it was not there."""
    with transaction.atomic(durable=True):
        document = _moderated(actor=actor, document_id=document_id, deleted=True)
        if document is None:
            return False
        _untrash(document=document, actor=actor, context=context)
    return True


# --- shares ---------------------------------------------------------------------------------


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is None:
        return
    now = timezone.now()
    if expires_at <= now:
        raise ValidationFailed(fields={"expires_at": ["Must be in the future."]})
    if expires_at > now + SHARE_MAX_LIFETIME:
        raise ValidationFailed(fields={"expires_at": ["Must be at most a year from now."]})


def _check_level(permission_level: str) -> None:
    if permission_level not in ShareLevel.values:
        raise ValidationFailed(
            fields={"permission_level": [f'"{permission_level}" is not a valid choice.']}
        )


# A share as audited and announced: the grantee's id, the level and the expiry, as text.
# (A plain dict, not a TypedDict: core.audit.record takes dict[str, Any].)
ShareState = dict[str, str | None]


def _share_state(share: DocumentShare | None) -> ShareState | None:
    if share is None:
        return None
    return {
        "user_id": str(share.user_id),
        "permission_level": share.permission_level,
        "expires_at": share.expires_at.isoformat() if share.expires_at else None,
    }


def _grantee(*, user_id: Id | None = None, email: str | None = None) -> User:
    if (user_id is None) == (email is None):
        raise ValidationFailed(
            fields={"user_id": ["Name the user by user_id or by email, not both and not neither."]}
        )
    users = User.objects.filter(is_active=True)
    if user_id is not None:
        grantee, field = users.filter(pk=user_id).first(), "user_id"
    elif email is not None:
        grantee, field = users.filter(email__iexact=email.strip()).first(), "email"
    if grantee is None:
        raise ValidationFailed(fields={field: ["No active user has this identity."]})
    return grantee


def _announce_share(
    type: str,
    *,
    document: Document,
    share: DocumentShare | None,
    before: ShareState | None,
    after: ShareState | None,
    actor: User,
    context: ActionContext,
) -> None:
    """Audits a change of ``share`` (``None`` once revoked) and announces it twice: to
    whoever may read the document, and to the grantee themself, whose own list of documents
    changes and who, once revoked, is no longer among the document's readers."""
    state = after or before
    if state is None:
        # What subscripting it would raise: every caller passes one of the two.
        raise TypeError("A share change needs the state before or after it.")
    # The share as the shares endpoint lists it; share.revoked names the document and the
    # user only.
    payload = (
        {"document_id": str(document.pk), "user_id": state["user_id"]}
        if share is None
        else representation(share, viewer=actor)
    )
    for audience in (Audience.document(document.pk), Audience.user(state["user_id"])):
        publish(
            type=type,
            target=document,
            audience=audience,
            actor=actor,
            context=context,
            payload=payload,
        )
    action = AuditAction.SHARE_REVOKED if after is None else AuditAction.SHARE_GRANTED
    audit.record(
        action=action, actor=actor, target=document, before=before, after=after, context=context
    )


@dataclass(frozen=True)
class ShareResult:
    share: DocumentShare
    created: bool


def share_grant(
    *,
    actor: User,
    document_id: Id,
    permission_level: str,
    user_id: Id | None = None,
    email: str | None = None,
    expires_at: datetime | None = None,
    context: ActionContext,
) -> ShareResult:
    """Gives a user (by id or by email, exactly one of them) a level on the document, until
    ``expires_at`` if given. A user holds one share per document: granting again, or over an
    expired share, replaces it."""
    _check_level(permission_level)
    _check_expiry(expires_at)
    with transaction.atomic(durable=True):
        document = _managed(actor=actor, document_id=document_id)
        grantee = _grantee(user_id=user_id, email=email)
        if grantee.pk == document.owner_id:
            raise ValidationFailed(
                fields={"user_id" if user_id else "email": ["This user owns the document."]}
            )
        share = DocumentShare.objects.filter(document=document, user=grantee).first()
        before = _share_state(share)
        created = share is None
        if share is None:
            share = DocumentShare(document=document, user=grantee)
        share.permission_level = permission_level
        share.expires_at = expires_at
        share.save()
        # The database's default, which GET shows and the event carries.
        share.refresh_from_db(fields=["created_at"])
        _announce_share(
            "share.granted",
            document=document,
            share=share,
            before=before,
            after=_share_state(share),
            actor=actor,
            context=context,
        )
    return ShareResult(share=share, created=created)


def _existing_share(*, document: Document, user_id: Id) -> DocumentShare:
    # With the user's profile, which the share's representation (the event's payload) shows.
    share = (
        DocumentShare.objects.filter(document=document, user_id=user_id)
        .select_related("user__profile")
        .first()
    )
    if share is None:
        raise NotFound("This user has no share of this document.")
    return share


def share_change(
    *,
    actor: User,
    document_id: Id,
    user_id: Id,
    permission_level: str | None = None,
    expires_at: datetime | Literal[_Unset.UNSET] | None = _UNSET,
    context: ActionContext,
) -> DocumentShare:
    """Changes the level and/or the expiry (``None`` makes it permanent) of a user's share."""
    if permission_level is not None:
        _check_level(permission_level)
    if expires_at is not _UNSET:
        _check_expiry(expires_at)
    with transaction.atomic(durable=True):
        document = _managed(actor=actor, document_id=document_id)
        share = _existing_share(document=document, user_id=user_id)
        before = _share_state(share)
        if permission_level is not None:
            share.permission_level = permission_level
        if expires_at is not _UNSET:
            share.expires_at = expires_at
        after = _share_state(share)
        if after == before:
            return share
        share.save(update_fields=["permission_level", "expires_at"])
        _announce_share(
            "share.changed",
            document=document,
            share=share,
            before=before,
            after=after,
            actor=actor,
            context=context,
        )
    return share


def share_revoke(*, actor: User, document_id: Id, user_id: Id, context: ActionContext) -> None:
    """Takes a user's share of the document away."""
    with transaction.atomic(durable=True):
        document = _managed(actor=actor, document_id=document_id)
        share = _existing_share(document=document, user_id=user_id)
        before = _share_state(share)
        share.delete()
        _announce_share(
            "share.revoked",
            document=document,
            share=None,
            before=before,
            after=None,
            actor=actor,
            context=context,
        )
