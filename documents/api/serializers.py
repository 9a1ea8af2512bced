"""Shapes of the documents API: input serializers validate fields, output serializers
describe what comes back."""

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.api.validation import represented
from documents.models import Document, DocumentShare, DocumentVersion, ShareLevel

ACCESS_HELP = "What the caller may do: owner, editor, commenter or viewer."


class DocumentCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)


class DocumentUpdateInput(DocumentCreateInput):
    """PUT needs both fields; PATCH (``partial``) either."""


class DocumentSummaryOutput(serializers.ModelSerializer):
    access = serializers.CharField(source="access_level", help_text=ACCESS_HELP)

    class Meta:
        model = Document
        fields = ["id", "title", "version", "owner_id", "created_at", "updated_at", "access"]


class DocumentOutput(DocumentSummaryOutput):
    class Meta(DocumentSummaryOutput.Meta):
        fields = [*DocumentSummaryOutput.Meta.fields, "content"]


class TrashedDocumentOutput(DocumentSummaryOutput):
    class Meta(DocumentSummaryOutput.Meta):
        fields = [*DocumentSummaryOutput.Meta.fields, "deleted_at"]


class SearchResultOutput(DocumentSummaryOutput):
    rank = serializers.FloatField(help_text="Higher is a better match; title words weigh most.")

    class Meta(DocumentSummaryOutput.Meta):
        fields = [*DocumentSummaryOutput.Meta.fields, "rank"]


class AuthorOutput(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    display_name = serializers.SerializerMethodField()

    def get_display_name(self, user) -> str | None:
        profile = getattr(user, "profile", None)
        return profile.display_name if profile is not None else None


class VersionSummaryOutput(serializers.ModelSerializer):
    number = serializers.IntegerField(source="version")
    author = AuthorOutput(source="created_by")
    size = serializers.IntegerField(help_text="Bytes of content (UTF-8).")

    class Meta:
        model = DocumentVersion
        fields = ["number", "title", "author", "created_at", "size", "note"]


class VersionOutput(VersionSummaryOutput):
    class Meta(VersionSummaryOutput.Meta):
        fields = [*VersionSummaryOutput.Meta.fields, "content"]


class VersionRestoreInput(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, default="")


# ``?from=3&to=7``: "from" is a Python keyword, so the class is built with type().
DiffQuery = type(
    "DiffQuery",
    (serializers.Serializer,),
    {
        "from": serializers.IntegerField(min_value=1),
        "to": serializers.IntegerField(min_value=1),
    },
)


class DiffOutput(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    title_from = serializers.CharField(allow_null=True)
    title_to = serializers.CharField(allow_null=True)
    diff = serializers.CharField(help_text="Unified diff of the content, empty when equal.")


class SearchQueryInput(serializers.Serializer):
    q = serializers.CharField(max_length=500, help_text='Words, "a phrase", -word, or.')


class ShareGrantInput(serializers.Serializer):
    user_id = serializers.UUIDField(required=False)
    email = serializers.EmailField(required=False, max_length=255)
    permission_level = serializers.ChoiceField(choices=ShareLevel.choices)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        # documents.services.share_grant holds this rule for every caller; asking here too
        # answers with the other field errors at once.
        if ("user_id" in attrs) == ("email" in attrs):
            raise serializers.ValidationError(
                {"user_id": ["Name the user by user_id or by email, not both and not neither."]}
            )
        return attrs


class ShareChangeInput(serializers.Serializer):
    permission_level = serializers.ChoiceField(choices=ShareLevel.choices, required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ShareOutput(serializers.ModelSerializer):
    user = AuthorOutput()
    live = serializers.SerializerMethodField(help_text="False once expires_at has passed.")

    class Meta:
        model = DocumentShare
        fields = ["user", "permission_level", "expires_at", "created_at", "live"]

    def get_live(self, share: DocumentShare) -> bool:
        return share.expires_at is None or share.expires_at > timezone.now()


def document_representation(document: Document, viewer: Any = None) -> Any:
    """A document as GET /documents/{id} answers it to the caller whose ``access_level`` it
    carries: the payload of the document events (registered in DocumentsConfig.ready(); the
    views answer with the same ``represented(DocumentOutput, ...)``)."""
    return represented(DocumentOutput, document)


def share_representation(share: DocumentShare, viewer: Any = None) -> Any:
    """A share as the shares endpoints answer it: their body and the payload of
    share.granted and share.changed."""
    return represented(ShareOutput, share)
