from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models

from core.db import SoftDeleteModel, TimestampedModel, UUIDModel, timestamp_field


class Document(TimestampedModel, SoftDeleteModel):
    """A titled text with a version counter (table ``documents``)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="documents"
    )
    title = models.CharField(max_length=255)
    content = models.TextField()
    version = models.IntegerField(null=True, default=1, db_default=1, editable=False)
    # Kept by PostgreSQL (a STORED generated column), so every writer, plain SQL included,
    # leaves it current and Django never writes it; the title outranks the body.
    search_vector = models.GeneratedField(
        expression=(
            SearchVector("title", weight="A", config="english")
            + SearchVector("content", weight="B", config="english")
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta(SoftDeleteModel.Meta):
        db_table = "documents"
        ordering = ["-updated_at"]
        permissions = [("share_document", "Can share a document with other users")]
        indexes = [
            GinIndex(fields=["search_vector"], name="documents_search_vector_gin"),
            # "My documents", newest change first: the list's order, without deleted rows.
            models.Index(
                "owner",
                models.F("updated_at").desc(),
                models.F("id").desc(),
                name="documents_owner_updated_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(version__gte=1),
                name="%(app_label)s_%(class)s_version_positive",
                violation_error_message="A document's version starts at 1.",
            ),
            models.CheckConstraint(
                condition=~models.Q(title=""),
                name="%(app_label)s_%(class)s_title_not_empty",
                violation_error_message="A document needs a title.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DocumentVersion(UUIDModel):
    """The content of a document at one version (table ``document_versions``)."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    version = models.IntegerField()
    # NULL on rows written by contract-only writers, which know no title.
    title = models.CharField(max_length=255, null=True, blank=True)
    content = models.TextField()
    # Why this version exists when it is not a plain edit ("Restored from version 3").
    note = models.TextField(blank=True, default="", db_default="")
    created_at = timestamp_field()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_column="created_by",
    )

    class Meta:
        db_table = "document_versions"
        ordering = ["document", "-version"]
        # The staff console's list, newest first.
        indexes = [models.Index(fields=["-created_at", "-id"], name="document_versions_newest_idx")]
        constraints = [
            # Also the index for a document's versions (document_id leads).
            models.UniqueConstraint(
                fields=["document", "version"],
                name="%(app_label)s_%(class)s_document_version_uniq",
                violation_error_message="This version of the document already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1),
                name="%(app_label)s_%(class)s_version_positive",
                violation_error_message="Versions start at 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} of {self.title}"


class ShareLevel(models.TextChoices):
    VIEWER = "viewer"
    COMMENTER = "commenter"
    EDITOR = "editor"
    OWNER = "owner"


class DocumentShare(UUIDModel):
    """Another user's access to a document, possibly until a time (``document_shares``)."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="shares", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="document_shares"
    )
    permission_level = models.CharField(max_length=50, choices=ShareLevel.choices)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = timestamp_field()

    class Meta:
        db_table = "document_shares"
        ordering = ["-created_at"]
        constraints = [
            # One share per user and document: granting again changes the existing share.
            # Also the index for a document's shares (document_id leads).
            models.UniqueConstraint(
                fields=["document", "user"],
                name="%(app_label)s_%(class)s_document_user_uniq",
                violation_error_message="This user already has a share of this document.",
            ),
            models.CheckConstraint(
                condition=models.Q(permission_level__in=ShareLevel.values),
                name="%(app_label)s_%(class)s_level_valid",
                violation_error_message="A share is viewer, commenter, editor or owner.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document} shared with {self.user} ({self.permission_level})"
