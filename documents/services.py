"""Writes for documents: each function is one transaction.

Every change of title or content goes through ``_write``: under the document's row lock it
compares the version the caller read with the current one, moves ``version`` on by one and
writes the matching ``document_versions`` row, so the history has neither gaps nor duplicates
(the unique ``(document_id, version)`` constraint is the last line). Share changes take the
same lock, so a grant or revocation never interleaves with an edit's access check.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from core import audit
from core.exceptions import (
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ValidationFailed,
)
from core.models import AuditAction

from . import selectors
from .models import Document, DocumentShare, DocumentVersion, ShareLevel

SHARE_MAX_LIFETIME = timedelta(days=365)
_UNSET = object()


def document_create(*, owner: User, title: str, content: str) -> Document:
    """A new document at version 1, with its first version row."""
    with transaction.atomic(durable=True):
        document = Document.objects.create(owner=owner, title=title, content=content)
        DocumentVersion.objects.create(
            document=document, version=1, title=title, content=content, created_by=owner
        )
    document.access_level = ShareLevel.OWNER.value
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


def _editable(*, user: User, document_id, expected_version: int | None) -> Document:
    """The live document, locked, after checking the user may edit it and read its current
    version. Caller is inside a transaction."""
    access = selectors.document_access(user=user, document_id=document_id, lock=True)
    if not access.can_edit:
        raise PermissionDenied("Your share of this document does not allow editing.")
    _check_version(access.document, expected_version)
    return access.document


def _write(*, document: Document, user: User, title: str, content: str, note: str = "") -> Document:
    """Makes ``title`` and ``content`` the next version of the locked ``document``; nothing is
    written when neither changes."""
    if title == document.title and content == document.content:
        return document
    with connection.cursor() as cursor:
        # The version condition repeats what the lock already guarantees, so the write can
        # never skip or reuse a number even if a caller forgot the lock.
        cursor.execute(
            "UPDATE documents SET title = %s, content = %s, version = version + 1"
            " WHERE id = %s AND version = %s RETURNING version, updated_at",
            [title, content, document.pk, document.version],
        )
        row = cursor.fetchone()
    if row is None:
        raise PreconditionFailed("The document changed while this edit was being saved.")
    document.version, document.updated_at = row
    document.title, document.content = title, content
    DocumentVersion.objects.create(
        document=document,
        version=document.version,
        title=title,
        content=content,
        note=note,
        created_by=user,
    )
    return document


def document_update(
    *,
    user: User,
    document_id,
    expected_version: int | None,
    title: str | None = None,
    content: str | None = None,
) -> Document:
    """Changes the title and/or the content (``None`` keeps it) of the version the user read."""
    with transaction.atomic(durable=True):
        document = _editable(user=user, document_id=document_id, expected_version=expected_version)
        return _write(
            document=document,
            user=user,
            title=document.title if title is None else title,
            content=document.content if content is None else content,
        )


def version_restore(
    *, user: User, document_id, number: int, expected_version: int | None, note: str = ""
) -> Document:
    """Makes an old version's title and content the next version, noting where it came from.
    A version written without a title (by a contract-only writer) keeps the current title."""
    with transaction.atomic(durable=True):
        document = _editable(user=user, document_id=document_id, expected_version=expected_version)
        old = selectors.version_get(document=document, number=number)
        reason = f"Restored from version {number}" + (f": {note}" if note else "")
        return _write(
            document=document,
            user=user,
            title=old.title or document.title,
            content=old.content,
            note=reason,
        )


def _managed(*, user: User, document_id, deleted: bool = False) -> Document:
    """The document, locked, after checking the user may share, delete and restore it."""
    access = selectors.document_access(
        user=user, document_id=document_id, deleted=deleted, lock=True
    )
    if not access.can_manage:
        raise PermissionDenied("Only the document's owners may do this.")
    return access.document


def document_delete(*, user: User, document_id, expected_version: int | None) -> None:
    """Moves the document to the trash, if the user read its current version."""
    with transaction.atomic(durable=True):
        document = _managed(user=user, document_id=document_id)
        _check_version(document, expected_version)
        Document.objects.filter(pk=document.pk).soft_delete()


def document_restore(*, user: User, document_id) -> Document:
    """Brings a document back from the trash, at the version it had."""
    with transaction.atomic(durable=True):
        document = _managed(user=user, document_id=document_id, deleted=True)
        Document.all_objects.filter(pk=document.pk).restore()
    document.deleted_at = None
    return document


# --- shares ---------------------------------------------------------------------------------


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is None:
        return
    now = timezone.now()
    if expires_at <= now:
        raise ValidationFailed(fields={"expires_at": ["Must be in the future."]})
    if expires_at > now + SHARE_MAX_LIFETIME:
        raise ValidationFailed(fields={"expires_at": ["Must be at most a year from now."]})


def _share_state(share: DocumentShare | None) -> dict | None:
    if share is None:
        return None
    return {
        "user_id": str(share.user_id),
        "permission_level": share.permission_level,
        "expires_at": share.expires_at.isoformat() if share.expires_at else None,
    }


def _grantee(*, user_id=None, email: str | None = None) -> User:
    users = User.objects.filter(is_active=True)
    if user_id is not None:
        grantee, field = users.filter(pk=user_id).first(), "user_id"
    else:
        grantee, field = users.filter(email__iexact=(email or "").strip()).first(), "email"
    if grantee is None:
        raise ValidationFailed(fields={field: ["No active user has this identity."]})
    return grantee


@dataclass(frozen=True)
class ShareResult:
    share: DocumentShare
    created: bool


def share_grant(
    *,
    actor: User,
    document_id,
    permission_level: str,
    user_id=None,
    email: str | None = None,
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> ShareResult:
    """Gives a user (by id or email) a level on the document, until ``expires_at`` if given.
    A user holds one share per document: granting again, or over an expired share, replaces
    it."""
    _check_expiry(expires_at)
    with transaction.atomic(durable=True):
        document = _managed(user=actor, document_id=document_id)
        grantee = _grantee(user_id=user_id, email=email)
        if grantee.pk == document.owner_id:
            raise ValidationFailed(
                fields={"user_id" if user_id else "email": ["This user owns the document."]}
            )
        share = DocumentShare.objects.filter(document=document, user=grantee).first()
        before = _share_state(share)
        created = share is None
        if created:
            share = DocumentShare(document=document, user=grantee)
        share.permission_level = permission_level
        share.expires_at = expires_at
        share.save()
        audit.record(
            action=AuditAction.SHARE_GRANTED,
            actor=actor,
            target=document,
            before=before,
            after=_share_state(share),
            request=request,
        )
    share.refresh_from_db(fields=["created_at"])
    return ShareResult(share=share, created=created)


def _existing_share(*, document: Document, user_id) -> DocumentShare:
    share = DocumentShare.objects.filter(document=document, user_id=user_id).first()
    if share is None:
        raise NotFound("This user has no share of this document.")
    return share


def share_change(
    *,
    actor: User,
    document_id,
    user_id,
    permission_level: str | None = None,
    expires_at: datetime | object | None = _UNSET,
    request: HttpRequest | None = None,
) -> DocumentShare:
    """Changes the level and/or the expiry (``None`` makes it permanent) of a user's share."""
    if expires_at is not _UNSET:
        _check_expiry(expires_at)
    with transaction.atomic(durable=True):
        document = _managed(user=actor, document_id=document_id)
        share = _existing_share(document=document, user_id=user_id)
        before = _share_state(share)
        if permission_level is not None:
            share.permission_level = permission_level
        if expires_at is not _UNSET:
            share.expires_at = expires_at
        if _share_state(share) == before:
            return share
        share.save(update_fields=["permission_level", "expires_at"])
        audit.record(
            action=AuditAction.SHARE_GRANTED,
            actor=actor,
            target=document,
            before=before,
            after=_share_state(share),
            request=request,
        )
    return share


def share_revoke(*, actor: User, document_id, user_id, request: HttpRequest | None = None) -> None:
    """Takes a user's share of the document away."""
    with transaction.atomic(durable=True):
        document = _managed(user=actor, document_id=document_id)
        share = _existing_share(document=document, user_id=user_id)
        share.delete()
        audit.record(
            action=AuditAction.SHARE_REVOKED,
            actor=actor,
            target=document,
            before=_share_state(share),
            request=request,
        )
