"""Reads for documents. ``document_access`` is the one place that decides what a user may do
with a document; every endpoint asks it, and every list is limited by ``readable_ids``.

A share counts only while it is live: its ``expires_at`` is compared with the database's
``now()`` inside each query, so an expired share grants nothing from the second it expires,
whatever clock the application process has.
"""

import difflib
import uuid
from dataclasses import dataclass
from typing import TypedDict

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections
from django.db.models import (
    Case,
    CharField,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Now

from accounts.models import User
from core.exceptions import NotFound, ValidationFailed

from . import sql
from .models import Document, DocumentShare, DocumentVersion, ShareLevel

# What each level may do; the owner of the document is "owner" too.
READ_LEVELS = frozenset(ShareLevel.values)
EDIT_LEVELS = frozenset({ShareLevel.EDITOR, ShareLevel.OWNER})
MANAGE_LEVELS = frozenset({ShareLevel.OWNER})


@dataclass(frozen=True)
class Access:
    """A document and what the user may do with it."""

    document: Document
    level: str

    @property
    def can_edit(self) -> bool:
        return self.level in EDIT_LEVELS

    @property
    def can_manage(self) -> bool:
        """Share, unshare, delete and restore."""
        return self.level in MANAGE_LEVELS


def live_shares() -> QuerySet[DocumentShare]:
    # Unordered: these serve as subqueries, where the model's ordering would only add a sort.
    return DocumentShare.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=Now())
    ).order_by()


def _access_level(user: User) -> Case:
    """SQL for the caller's level on each document row: owner, a live share's level, or NULL."""
    share_level = live_shares().filter(document=OuterRef("pk"), user=user)
    return Case(
        When(owner=user, then=Value(ShareLevel.OWNER.value)),
        default=Subquery(share_level.values("permission_level")[:1]),
        output_field=CharField(),
    )


class _DocumentId(TypedDict):
    id: uuid.UUID


def readable_ids(*, user: User) -> QuerySet[Document, _DocumentId]:
    """Ids of the documents the user owns or holds a live share of (deleted ones included)."""
    owned = Document.all_objects.filter(owner=user).order_by().values("id")
    shared = live_shares().filter(user=user).values("document_id")
    return owned.union(shared, all=True)


# The access statement for each (deleted, lock) the callers may ask for.
_ACCESS_SQL = {
    (False, False): sql.ACCESS,
    (False, True): sql.ACCESS_FOR_UPDATE,
    (True, False): sql.TRASHED_ACCESS,
    (True, True): sql.TRASHED_ACCESS_FOR_UPDATE,
}


def document_access(
    *, user: User, document_id: uuid.UUID | str, deleted: bool = False, lock: bool = False
) -> Access:
    """The document and the user's level on it, in one query; ``NotFound`` when the user may
    not see it, so ids cannot be probed. ``deleted`` asks for a document in the trash instead
    of a live one. ``lock`` takes the row lock (caller is inside a transaction) so the answer
    holds until commit."""
    statement = _ACCESS_SQL[deleted, lock]
    params = {"user": user.pk, "document": _document_key(document_id)}
    document = next(iter(Document.all_objects.raw(statement, params)), None)
    if document is None:
        raise NotFound()
    # raw() sets the statement's extra column as an attribute, which no model declares.
    return Access(document=document, level=document.access_level)  # type: ignore[attr-defined]


def document_json(*, user: User, document_id: uuid.UUID | str) -> tuple[str, int]:
    """The live document as the API shows it (DocumentOutput, JSON text PostgreSQL writes) and
    its version, in one statement that applies ``document_access``'s rule (sql.ACCESS): the
    read endpoint's answer, without a model instance or serializer. ``NotFound`` likewise."""
    params = {"user": user.pk, "document": _document_key(document_id)}
    with connections[Document.all_objects.db].cursor() as cursor:
        cursor.execute(sql.DOCUMENT_JSON, params)
        row = cursor.fetchone()
    if row is None:
        raise NotFound()
    body, version = row
    return body, version


def _document_key(document_id: uuid.UUID | str) -> uuid.UUID:
    """A document id from a URL; one that is no UUID names no document."""
    try:
        return uuid.UUID(str(document_id))
    except ValueError:
        raise NotFound() from None


def document_list(*, user: User, scope: str | None = None) -> QuerySet[Document]:
    """Live documents the user owns (``scope="mine"``), holds a live share of (``"shared"``)
    or either (no scope), each with the user's ``access_level``; without the content."""
    if scope == "mine":
        documents = Document.objects.filter(owner=user)
    elif scope == "shared":
        documents = Document.objects.filter(
            pk__in=live_shares().filter(user=user).values("document_id")
        )
    else:
        documents = Document.objects.filter(pk__in=readable_ids(user=user))
    return documents.annotate(access_level=_access_level(user)).defer("content", "search_vector")


def document_trash(*, user: User) -> QuerySet[Document]:
    """Deleted documents the user could restore: owned, or shared with them at owner level."""
    managed = live_shares().filter(user=user, permission_level=ShareLevel.OWNER)
    # Named for its type: core.db's SoftDeleteQuerySet.deleted() does not say of which model.
    trashed: QuerySet[Document] = Document.all_objects.deleted()
    return (
        trashed.filter(Q(owner=user) | Q(pk__in=managed.values("document_id")))
        .annotate(access_level=_access_level(user))
        .defer("content", "search_vector")
    )


def document_search(*, user: User, query: str) -> QuerySet[Document]:
    """Live documents the user may read that match ``query`` (web-search syntax: words,
    "quoted phrases", -exclusions, or), best match first by ``rank``."""
    search = SearchQuery(query, search_type="websearch", config="english")
    return (
        Document.objects.filter(search_vector=search, pk__in=readable_ids(user=user))
        # ts_rank is a real; as double precision its value survives the trip through the
        # page cursor exactly, so the next page starts right after the last row.
        .annotate(
            rank=Cast(SearchRank(F("search_vector"), search), FloatField()),
            access_level=_access_level(user),
        )
        .defer("content", "search_vector")
    )


class OctetLength(Func):
    # Read from the TOAST header, so the size of a large version costs no decompression.
    function = "octet_length"
    output_field = IntegerField()


def version_list(*, document: Document) -> QuerySet[DocumentVersion]:
    """A document's versions with their author and size in bytes, without their content."""
    return (
        DocumentVersion.objects.filter(document=document)
        .select_related("created_by__profile")
        .annotate(size=OctetLength("content"))
        .defer("content")
    )


def version_get(*, document: Document, number: int) -> DocumentVersion:
    versions = version_list(document=document).defer(None)
    try:
        return versions.get(version=number)
    except DocumentVersion.DoesNotExist:
        raise NotFound(f"Version {number} of this document does not exist.") from None


@dataclass(frozen=True)
class VersionDiff:
    from_version: int
    to_version: int
    title_from: str | None
    title_to: str | None
    diff: str


def version_diff(*, document: Document, from_version: int, to_version: int) -> VersionDiff:
    """The unified diff of the content of two versions, in one query."""
    rows = {
        row["version"]: row
        for row in DocumentVersion.objects.filter(
            document=document, version__in={from_version, to_version}
        ).values("version", "title", "content")
    }
    missing = {
        name: [f"Version {number} of this document does not exist."]
        for name, number in (("from", from_version), ("to", to_version))
        if number not in rows
    }
    if missing:
        raise ValidationFailed("No such version.", fields=missing)
    before, after = rows[from_version], rows[to_version]
    lines = difflib.unified_diff(
        before["content"].splitlines(keepends=True),
        after["content"].splitlines(keepends=True),
        fromfile=f"version {from_version}",
        tofile=f"version {to_version}",
    )
    # A last line without a newline would run into the next header of the diff.
    text = "".join(line if line.endswith("\n") else f"{line}\n" for line in lines)
    return VersionDiff(
        from_version=from_version,
        to_version=to_version,
        title_from=before["title"],
        title_to=after["title"],
        diff=text,
    )


def share_list(*, document: Document) -> QuerySet[DocumentShare]:
    """Every share of a document, expired ones too."""
    return DocumentShare.objects.filter(document=document).select_related("user__profile")
