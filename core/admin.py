"""Admin building blocks every app shares, and the audit trail's admin."""

from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin
from django.contrib.admin.options import csrf_protect_m
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils.functional import cached_property

from .models import AUDIENCE_KINDS, AuditAction, AuditEvent, Event
from .partitions import live_since

# Admin mixins (here and in the apps) extend ModelAdmin's hooks; the type checker needs to
# see that base, Python does not.
if TYPE_CHECKING:

    class ModelAdminBase(admin.ModelAdmin[Any]):
        # The bodies of the change and delete pages, without the transaction the public views
        # wrap them in. Private in Django, so the stubs leave them out.
        def _changeform_view(
            self,
            request: HttpRequest,
            object_id: str | None,
            form_url: str,
            extra_context: dict[str, Any] | None,
        ) -> HttpResponse: ...

        def _delete_view(
            self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None
        ) -> HttpResponse: ...

else:
    ModelAdminBase = object


class AuditColumnsMixin(ModelAdminBase):
    """Shows the timestamps the database fills in read-only on change pages; an add page has
    no values for them yet."""

    audit_columns: tuple[str, ...] = ("created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None else (*readonly, *self.audit_columns)


class ServiceWritesAdminMixin(ModelAdminBase):
    """For pages that save through services. Django wraps its add, change and delete pages in
    a transaction of its own; a service is its own durable transaction and may not be nested
    in one, so these pages open none: each change with rules commits in its service (plain
    field edits, where a page still has any, commit as the form saves them)."""

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)

    @csrf_protect_m
    def delete_view(self, request, object_id, extra_context=None):
        return self._delete_view(request, object_id, extra_context)


class ReadOnlyAdminMixin(ModelAdminBase):
    """For rows only a service may write (the write carries an audit event or an invariant):
    staff look but never add, edit or delete here. Every column shows except those in
    ``exclude`` (secrets such as token digests)."""

    def get_readonly_fields(self, request, obj=None):
        # Non-editable columns (ids, timestamps) appear on a view-only page only if listed.
        hidden = set(self.exclude or ())
        return [field.name for field in self.opts.fields if field.name not in hidden]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A read-only list of a parent's rows; ``list_select_related`` as on a changelist."""

    extra = 0
    list_select_related: ClassVar[tuple[str, ...]] = ()

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # select_related() without names would follow every foreign key.
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related)
        return queryset


class CappedCountPaginator(Paginator):
    """Counts at most ``cap`` rows, so a changelist over millions of rows never runs a full
    COUNT(*); past the cap the page links stop, and staff narrow the list with a filter."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        # Without ORDER BY the database stops after ``cap`` rows instead of sorting them all.
        return self.object_list.order_by()[: self.cap].count()  # type: ignore[attr-defined]


class LargeTableAdminMixin:
    """For tables with millions of rows (messages, payments, audit events, versions,
    sessions): no full count, no facet counts. Their foreign keys use raw_id_fields."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator: type[Paginator] = CappedCountPaginator


class DeletedFilter(admin.SimpleListFilter):
    """Live rows unless staff ask for the deleted ones (or all)."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("deleted", "Deleted"), ("all", "All")]

    def choices(self, changelist):
        # The base class adds an "All" link that clears the parameter, which here means "live".
        current = self.value() or "live"
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == "all":
            return queryset
        if value == "deleted":
            return queryset.deleted()
        return queryset.alive()


@admin.action(permissions=["change"], description="Restore selected %(verbose_name_plural)s")
def restore_selected(modeladmin, request, queryset):
    restored = queryset.restore()
    modeladmin.message_user(request, f"Restored {restored} {modeladmin.opts.verbose_name_plural}.")


class SoftDeleteAdminMixin(ModelAdminBase):
    """For models with ``deleted_at``: the admin sees deleted rows (under the "deleted"
    filter), deleting soft-deletes, and the "restore" action brings rows back."""

    actions = [restore_selected]

    def get_queryset(self, request):
        # The default manager hides deleted rows; change pages and restore need them.
        queryset = self.model.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_list_filter(self, request):
        return [DeletedFilter, *super().get_list_filter(request)]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None else (*readonly, "deleted_at")

    def delete_model(self, request, obj) -> None:
        self.model.all_objects.filter(pk=obj.pk).soft_delete()

    def delete_queryset(self, request, queryset) -> None:
        queryset.soft_delete()

    def get_deleted_objects(self, objs, request):
        # A soft delete touches these rows only: nothing cascades, nothing protects them.
        objs = list(objs)
        return [str(obj) for obj in objs], {self.opts.verbose_name_plural: len(objs)}, set(), []


class LogAdminMixin(ModelAdminBase):
    """The lists of the logs say how far back their live rows go: older months are archived
    (manage.py archive), and old events purged."""

    def changelist_view(self, request, extra_context=None):
        since = live_since(self.opts.db_table)
        subtitle = (
            f"Live rows since {since:%Y-%m-%d %H:%M} UTC; older ones are archived "
            "(manage.py archive, docs/operations.md)."
            if since
            else "No live rows."
        )
        return super().changelist_view(request, {**(extra_context or {}), "subtitle": subtitle})


class AuditActionFilter(admin.SimpleListFilter):
    """The known actions, from AuditAction: a filter on the column itself would list its
    values with SELECT DISTINCT over the whole trail on every page."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return sorted(AuditAction.choices, key=lambda choice: choice[0])

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(LogAdminMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "actor", "action", "target_type", "target_id", "ip_address")
    list_filter = (AuditActionFilter,)
    search_fields = ("target_id__exact", "actor__email")
    list_select_related = ("actor",)
    raw_id_fields = ("actor",)


class AudienceKindFilter(admin.SimpleListFilter):
    """The four audience kinds: a filter on the column itself would list its values with
    SELECT DISTINCT over the whole log on every page."""

    title = "audience kind"
    parameter_name = "audience_kind"

    def lookups(self, request, model_admin):
        return [(kind, kind) for kind in AUDIENCE_KINDS]

    def queryset(self, request, queryset):
        return queryset.filter(audience_kind=self.value()) if self.value() else queryset


@admin.register(Event)
class EventAdmin(LogAdminMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """The event log as staff read it: what happened to which object, for whom. Written only by
    ``core.events.publish``; newest first along the primary key."""

    list_display = ("id", "occurred_at", "type", "object_type", "object_id", "audience_kind")
    list_filter = (AudienceKindFilter,)
    # Exact matches only: a LIKE over the whole log would scan it.
    search_fields = ("object_id__exact", "type__exact", "audience_key__exact")
    ordering = ("-id",)
