"""Documents API. Views parse input, call one service or selector, and shape the answer.

Every object endpoint asks ``selectors.document_access`` what the caller may do: a document
the caller may not read is a 404; one they may read but not change is a 403.
"""

import re
from typing import cast

from django.db.models import QuerySet
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from accounts.models import User
from core.api.context import action_context
from core.api.idempotency import IDEMPOTENCY_PARAMETER, respond_once
from core.api.pagination import CursorPagination
from core.api.permissions import HasActionPermission
from core.api.routing import ReplicaReadsMixin
from core.api.schema import problem_responses
from core.api.validation import represented, validated, validated_query
from core.exceptions import PermissionDenied, PreconditionRequired
from core.services.idempotency import Answer
from core.sql import RowJSON
from documents import selectors, services, sql
from documents.filters import DocumentFilter
from documents.models import Document, DocumentShare, DocumentVersion

from . import serializers as s

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ENTITY_TAG = re.compile(r'"(\d{1,9})"', re.ASCII)

IF_MATCH = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=True,
    pattern=r'^"[0-9]{1,9}"$',
    description='The `ETag` of the version you read, e.g. `"3"`.',
)


def expected_version(request) -> int | None:
    """The version an ``If-Match`` header names; ``None`` when it names none this API could
    have issued (a weak or malformed tag), which can only be stale. No header, or ``*``,
    is a 428: a write must say which version it changes."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        raise PreconditionRequired()
    match = _ENTITY_TAG.fullmatch(header)
    return int(match.group(1)) if match else None


def _with_etag(response: Response, document: Document) -> Response:
    response["ETag"] = f'"{document.version}"'
    return response


def _no_user(view) -> bool:
    return getattr(view, "swagger_fake_view", False)  # schema generation has no user


class DocumentViewSet(ReplicaReadsMixin, viewsets.GenericViewSet):
    """Documents I own or that are shared with me, versioned on every change."""

    replica_read_actions = frozenset({"list", "search"})

    serializer_class = s.DocumentOutput
    permission_classes = [HasActionPermission]
    action_permissions = {
        "list": "documents.view_document",
        "retrieve": "documents.view_document",
        "search": "documents.view_document",
        "trash": "documents.view_document",
        "create": "documents.add_document",
        "update": "documents.change_document",
        "partial_update": "documents.change_document",
        "destroy": "documents.delete_document",
        "restore": "documents.delete_document",
    }
    lookup_url_kwarg = "document_id"
    lookup_value_regex = UUID_PATTERN
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = DocumentFilter
    ordering_fields = ["updated_at", "created_at", "title"]
    ordering = ("-updated_at",)

    def get_queryset(self) -> QuerySet[Document]:
        if _no_user(self):
            return Document.objects.none()
        # HasActionPermission lets no anonymous caller this far; DRF's types cannot know it.
        return selectors.document_list(user=cast(User, self.request.user))

    @extend_schema(responses={200: s.DocumentSummaryOutput(many=True)})
    def list(self, request):
        """Live documents I own or hold a live share of, newest change first."""
        return self._json_page(self.filter_queryset(self.get_queryset()), sql.DOCUMENT_SUMMARY)

    @extend_schema(
        request=s.DocumentCreateInput,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.DocumentOutput},
    )
    def create(self, request):
        """A new document at version 1."""
        data = validated(s.DocumentCreateInput, request.data)
        context = action_context(request)

        def write() -> Answer:
            document = services.document_create(actor=request.user, context=context, **data)
            return Answer(
                status=status.HTTP_201_CREATED, body=represented(s.DocumentOutput, document)
            )

        response = cast(Response, respond_once(request, write))
        # The first answer's version, replayed or not: what If-Match must name next.
        response["ETag"] = f'"{response.data["version"]}"'
        return response

    def retrieve(self, request, document_id=None):
        """The document's current version; its `ETag` goes in `If-Match` to change it."""
        # PostgreSQL writes the body (DocumentOutput's shape), as for the list.
        body, version = selectors.document_json(user=request.user, document_id=document_id)
        response = HttpResponse(body, content_type="application/json")
        response["ETag"] = f'"{version}"'
        return response

    @extend_schema(
        request=s.DocumentUpdateInput,
        parameters=[IF_MATCH],
        responses={200: s.DocumentOutput, **problem_responses(412, 428)},
    )
    def update(self, request, document_id=None):
        """Replaces title and content, writing the next version (nothing when both equal the
        current ones)."""
        partial = request.method == "PATCH"
        version = expected_version(request)
        data = validated(s.DocumentUpdateInput, request.data, partial=partial)
        document = services.document_update(
            actor=request.user,
            document_id=document_id,
            expected_version=version,
            context=action_context(request),
            **data,
        )
        return _with_etag(Response(represented(s.DocumentOutput, document)), document)

    @extend_schema(
        request=s.DocumentUpdateInput,
        parameters=[IF_MATCH],
        responses={200: s.DocumentOutput, **problem_responses(412, 428)},
    )
    def partial_update(self, request, document_id=None):
        """Changes the title or the content, writing the next version (nothing when the
        change changes nothing)."""
        return self.update(request, document_id=document_id)

    @extend_schema(parameters=[IF_MATCH], responses={204: None, **problem_responses(412, 428)})
    def destroy(self, request, document_id=None):
        """Moves the document to the trash (owners only)."""
        services.document_delete(
            actor=request.user,
            document_id=document_id,
            expected_version=expected_version(request),
            context=action_context(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: s.DocumentOutput})
    @action(detail=True, methods=["post"])
    def restore(self, request, document_id=None):
        """Brings the document back from the trash (owners only)."""
        document = services.document_restore(
            actor=request.user, document_id=document_id, context=action_context(request)
        )
        document = selectors.document_access(user=request.user, document_id=document.pk).document
        return _with_etag(Response(represented(s.DocumentOutput, document)), document)

    @extend_schema(responses={200: s.TrashedDocumentOutput(many=True)})
    @action(detail=False, methods=["get"], filter_backends=[], ordering=("-deleted_at",))
    def trash(self, request):
        """Deleted documents I could restore, most recently deleted first."""
        page = self.paginate_queryset(selectors.document_trash(user=request.user))
        return self.get_paginated_response(s.TrashedDocumentOutput(page, many=True).data)

    @extend_schema(
        parameters=[s.SearchQueryInput], responses={200: s.SearchResultOutput(many=True)}
    )
    @action(detail=False, methods=["get"], filter_backends=[], ordering=("-rank",))
    def search(self, request):
        """Full-text search over the title and content of the documents I may read, best
        match first."""
        query = validated_query(s.SearchQueryInput, request.query_params)["q"]
        documents = selectors.document_search(user=request.user, query=query)
        return self._json_page(documents, sql.SEARCH_RESULT)

    def _json_page(self, documents: QuerySet[Document], row: RowJSON) -> HttpResponse:
        # The paginator is the platform's CursorPagination (settings); its page as JSON text.
        paginator = cast(CursorPagination, self.paginator)
        return paginator.json_page(documents, self.request, self, row)


class _DocumentChildViewSet(viewsets.GenericViewSet):
    """Endpoints under /documents/{document_id}/: the parent is looked up through
    ``document_access`` and the caller needs ``required`` (read by default) on it."""

    permission_classes = [HasActionPermission]

    def access(self, *, need: str = "read") -> selectors.Access:
        access = selectors.document_access(
            # HasActionPermission lets no anonymous caller this far; DRF's types cannot know it.
            user=cast(User, self.request.user),
            document_id=self.kwargs["document_id"],
        )
        if need == "manage" and not access.can_manage:
            raise PermissionDenied("Only the document's owners may do this.")
        return access


class VersionViewSet(_DocumentChildViewSet):
    """The versions of a document, newest first."""

    serializer_class = s.VersionOutput
    action_permissions = {
        "list": "documents.view_document",
        "retrieve": "documents.view_document",
        "diff": "documents.view_document",
        "restore": "documents.change_document",
    }
    lookup_url_kwarg = "number"
    lookup_value_regex = r"\d{1,9}"
    ordering = ("-version",)

    def get_queryset(self) -> QuerySet[DocumentVersion]:
        if _no_user(self):
            return DocumentVersion.objects.none()
        return selectors.version_list(document=self.access().document)

    @extend_schema(responses={200: s.VersionSummaryOutput(many=True)})
    def list(self, request, document_id=None):
        """Number, author, time and size of each version."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.VersionSummaryOutput(page, many=True).data)

    def retrieve(self, request, document_id=None, number=None):
        """One version, with its content."""
        version = selectors.version_get(document=self.access().document, number=int(number))
        return Response(s.VersionOutput(version).data)

    @extend_schema(parameters=[s.DiffQuery], responses={200: s.DiffOutput})
    @action(detail=False, methods=["get"])
    def diff(self, request, document_id=None):
        """The unified diff from one version's content to another's (`?from=3&to=7`)."""
        numbers = validated_query(s.DiffQuery, request.query_params)
        result = selectors.version_diff(
            document=self.access().document,
            from_version=numbers["from"],
            to_version=numbers["to"],
        )
        return Response(s.DiffOutput(result).data)

    @extend_schema(
        request=s.VersionRestoreInput,
        parameters=[IF_MATCH],
        responses={200: s.DocumentOutput, **problem_responses(412, 428)},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, document_id=None, number=None):
        """Makes this version's title and content the document's next version, with a note;
        `If-Match` names the document's current version."""
        version = expected_version(request)
        note = validated(s.VersionRestoreInput, request.data)["note"]
        document = services.version_restore(
            actor=request.user,
            document_id=document_id,
            number=int(number),
            expected_version=version,
            note=note,
            context=action_context(request),
        )
        return _with_etag(Response(represented(s.DocumentOutput, document)), document)


class ShareViewSet(_DocumentChildViewSet):
    """Who else may use a document (owners only); a share is addressed by its user's id."""

    serializer_class = s.ShareOutput
    action_permissions = dict.fromkeys(
        ["list", "create", "partial_update", "destroy"], "documents.share_document"
    )
    lookup_url_kwarg = "user_id"
    lookup_value_regex = UUID_PATTERN
    ordering = ("-created_at",)
    # Granting by email tells whether an address is a colleague's: counted per member.
    throttle_scopes = {"create": "share_by_email"}

    def get_queryset(self) -> QuerySet[DocumentShare]:
        if _no_user(self):
            return DocumentShare.objects.none()
        return selectors.share_list(document=self.access(need="manage").document)

    def list(self, request, document_id=None):
        """Every share of the document, expired ones included (`live` false)."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.ShareOutput(page, many=True).data)

    @extend_schema(request=s.ShareGrantInput, responses={200: s.ShareOutput, 201: s.ShareOutput})
    def create(self, request, document_id=None):
        """Grants a level to a user named by `user_id` or `email`, until `expires_at` if
        given; granting again replaces the user's share (200)."""
        result = services.share_grant(
            actor=request.user,
            document_id=document_id,
            context=action_context(request),
            **validated(s.ShareGrantInput, request.data),
        )
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(s.ShareOutput(result.share).data, status=code)

    @extend_schema(request=s.ShareChangeInput, responses={200: s.ShareOutput})
    def partial_update(self, request, document_id=None, user_id=None):
        """Changes the level or the expiry (`null`: never) of a user's share."""
        share = services.share_change(
            actor=request.user,
            document_id=document_id,
            user_id=user_id,
            context=action_context(request),
            **validated(s.ShareChangeInput, request.data),
        )
        return Response(s.ShareOutput(share).data)

    def destroy(self, request, document_id=None, user_id=None):
        """Revokes a user's share."""
        services.share_revoke(
            actor=request.user,
            document_id=document_id,
            user_id=user_id,
            context=action_context(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
