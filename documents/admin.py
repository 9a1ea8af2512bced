from django.contrib import admin
from django.contrib.admin.utils import model_ngettext

from core.admin import (
    LargeTableAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    ServiceWritesAdminMixin,
    SoftDeleteAdminMixin,
)
from core.api.context import action_context

from . import services
from .models import Document, DocumentShare, DocumentVersion


@admin.action(permissions=["delete"], description="Restore selected documents")
def restore_selected(modeladmin, request, queryset):
    context = action_context(request)
    restored = sum(
        services.document_moderate_restore(actor=request.user, document_id=pk, context=context)
        for pk in queryset.values_list("pk", flat=True)
    )
    modeladmin.message_user(
        request, f"Restored {restored} {model_ngettext(modeladmin.opts, restored)}."
    )


class DocumentVersionInline(ReadOnlyTabularInline):
    model = DocumentVersion
    fields = ("version", "title", "note", "created_by", "created_at")
    list_select_related = ("created_by",)
    show_change_link = True


# Granting and revoking shares are audited events the documents service writes.
class DocumentShareInline(ReadOnlyTabularInline):
    model = DocumentShare
    fields = ("user", "permission_level", "expires_at", "created_at")
    list_select_related = ("user",)


@admin.register(Document)
class DocumentAdmin(ServiceWritesAdminMixin, SoftDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("title", "owner", "version", "created_at", "updated_at", "deleted_at")
    search_fields = ("title", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    # Every change of title or content must write a version row in the same transaction,
    # which the documents service does; staff moderate by deleting and restoring.
    readonly_fields = (
        "owner",
        "title",
        "content",
        "version",
        "created_at",
        "updated_at",
    )
    inlines = [DocumentVersionInline, DocumentShareInline]
    # Staff moderate through the documents service, so readers hear of it: each document is
    # moved to the trash or restored in a transaction of its own.
    actions = [restore_selected]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        # Nothing here is editable: a save would only write the loaded row back over what the
        # documents service changed meanwhile.
        return

    def delete_model(self, request, obj) -> None:
        services.document_moderate_delete(
            actor=request.user, document_id=obj.pk, context=action_context(request)
        )

    def delete_queryset(self, request, queryset) -> None:
        context = action_context(request)
        for pk in queryset.values_list("pk", flat=True):
            services.document_moderate_delete(actor=request.user, document_id=pk, context=context)


@admin.register(DocumentVersion)
class DocumentVersionAdmin(ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("document", "version", "title", "note", "created_by", "created_at")
    search_fields = ("document__title",)
    list_select_related = ("document", "created_by")
    raw_id_fields = ("document", "created_by")
    # Newest first, as an index has them; the model's order (by document) would sort the
    # versions by their documents' order, which no index of this table holds.
    ordering = ("-created_at", "-id")


@admin.register(DocumentShare)
class DocumentShareAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("document", "user", "permission_level", "expires_at", "created_at")
    list_filter = ("permission_level",)
    search_fields = ("document__title", "user__email")
    list_select_related = ("document", "user")
    autocomplete_fields = ("document", "user")
