"""Admin building blocks every app shares, and the audit trail's admin."""

import csv
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.utils import model_ngettext
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.functional import cached_property
from procrastinate.contrib.django.admin import ProcrastinateJobAdmin
from procrastinate.contrib.django.models import ProcrastinateJob

from . import audit, audit_display
from .api.context import action_context
from .exceptions import DomainError
from .models import AUDIENCE_KINDS, AuditAction, AuditEvent, Event
from .partitions import live_since
from .services import jobs as jobs_service

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


def refusal_message(refusal: DomainError) -> str:
    """A service's refusal as one line for the admin: the detail and what each field got."""
    fields = refusal.fields
    problems = "; ".join(
        f"{name.replace('_', ' ')}: {' '.join(str(message) for message in errors)}"
        for name, errors in fields.items()
    )
    detail = str(refusal.detail)
    return f"{detail} ({problems})" if problems and problems not in detail else detail


def saved_by_service(formset) -> None:
    """Marks an inline formset whose rows a service wrote (not ``formset.save()``): Django's
    change message reads what the formset saved."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class HideSaveWhenNothingEditableMixin(ModelAdminBase):
    """A change page whose every field is read-only and whose inlines take no input offers no
    SAVE buttons: they would save nothing, and suggest otherwise."""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        editable_inline = any(
            inline.formset.forms or inline.formset.extra
            for inline in context.get("inline_admin_formsets", [])
            if inline.has_add_permission or inline.has_change_permission
        )
        if change and not context["adminform"].form.fields and not editable_inline:
            context.update(
                show_save=False, show_save_and_continue=False, show_save_and_add_another=False
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


class ServiceWritesAdminMixin(HideSaveWhenNothingEditableMixin):
    """For pages that save through services. Django wraps its add, change and delete pages in
    a transaction of its own; a service is its own durable transaction and may not be nested
    in one, so these pages open none: each change with rules commits in its service (plain
    field edits, where a page still has any, commit as the form saves them). A service's
    refusal comes back as a message on the page, never a server error."""

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._refusals_as_messages(
            request, self._changeform_view, request, object_id, form_url, extra_context
        )

    @csrf_protect_m
    def delete_view(self, request, object_id, extra_context=None):
        return self._refusals_as_messages(
            request, self._delete_view, request, object_id, extra_context
        )

    def changelist_view(self, request, extra_context=None):
        # Actions run here, delete_selected among them: a refusal is a message, not a 500.
        return self._refusals_as_messages(request, super().changelist_view, request, extra_context)

    def _refusals_as_messages(self, request, view, *args) -> HttpResponse:
        try:
            return view(*args)
        except DomainError as refusal:
            # The service rolled its transaction back; the page opens again, saying why.
            self.message_user(request, refusal_message(refusal), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


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
    modeladmin.message_user(
        request, f"Restored {restored} {model_ngettext(modeladmin.opts, restored)}."
    )


class SoftDeleteAdminMixin(HideSaveWhenNothingEditableMixin):
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


class ActionFilter(admin.SimpleListFilter):
    """The known actions, from the code: a DISTINCT over millions of events would not do."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(action, action) for action in sorted(AuditAction.values)]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class TargetTypeFilter(admin.SimpleListFilter):
    """The kinds of rows events happened to, among those the person may read."""

    title = "target type"
    parameter_name = "target_type"

    def lookups(self, request, model_admin):
        types = sorted(visible_target_types(request.user) or admin_target_types())
        return [(label, audit_display.target_type_label(label)) for label in types]

    def queryset(self, request, queryset):
        return queryset.filter(target_type=self.value()) if self.value() else queryset


def admin_target_types() -> set[str]:
    return {model._meta.label_lower for model in admin.site._registry}


def visible_target_types(user) -> set[str] | None:
    return audit.visible_target_types(is_staff=user.is_staff, may=user.has_perm)


class AuditChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # Each row links to its target by name: one query per target type on the page.
        audit_display.attach_targets(self.result_list)


@admin.action(description="Export selected events as CSV", permissions=["view"])
def export_csv(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["occurred_at", "actor", "action", "target_type", "target_id", "changes", "ip_address"]
    )
    for event in queryset.select_related("actor").order_by("-occurred_at"):
        writer.writerow(
            [
                event.occurred_at.isoformat(),
                event.actor.email if event.actor else "",
                event.action,
                event.target_type,
                event.target_id,
                audit_display.changes_summary(event),
                event.ip_address or "",
            ]
        )
    return response


@admin.register(AuditEvent)
class AuditEventAdmin(LogAdminMixin, ReadOnlyAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "actor", "action", "target", "summary", "ip_address")
    list_filter = (ActionFilter, TargetTypeFilter, ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("target_id__exact", "actor__email")
    list_select_related = ("actor",)
    raw_id_fields = ("actor",)
    fields = (
        "occurred_at",
        "actor",
        "action",
        "target",
        "changes",
        "ip_address",
        "user_agent",
        "id",
    )
    actions = [export_csv]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_changelist(self, request, **kwargs):
        return AuditChangeList

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        visible = visible_target_types(request.user)
        return queryset if visible is None else queryset.filter(target_type__in=visible)

    def has_view_permission(self, request, obj=None) -> bool:
        return visible_target_types(request.user) != set()

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    @admin.display(description="Target")
    def target(self, event: AuditEvent):
        return audit_display.target_link(event)

    @admin.display(description="What changed")
    def summary(self, event: AuditEvent) -> str:
        text = audit_display.changes_summary(event)
        return text if len(text) <= 120 else f"{text[:119]}…"

    @admin.display(description="Before → after")
    def changes(self, event: AuditEvent):
        return audit_display.changes_table(event)


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


# Background jobs: procrastinate's own job pages, plus a retry of failed jobs through the
# service (core/services/jobs.py). Procrastinate's app is listed before core in
# INSTALLED_APPS, so its admin has registered by now.
admin.site.unregister(ProcrastinateJob)


@admin.register(ProcrastinateJob)
class JobAdmin(ProcrastinateJobAdmin):
    # Not a large table: a worker deletes each job as it succeeds, and failed ones go after
    # 30 days (core.purge_old_jobs), so procrastinate's own counts and filters stay cheap.

    actions = ["retry"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(jobs_service.RETRY_PERMISSION)

    @admin.action(description="Retry selected failed jobs now", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: Any) -> None:
        failed = list(queryset.filter(status="failed").values_list("pk", flat=True))
        for job_id in failed:
            jobs_service.job_retry(
                job_id=job_id, actor=request.user, context=action_context(request)
            )
        self.message_user(request, f"{len(failed)} failed job(s) queued to run again.")
