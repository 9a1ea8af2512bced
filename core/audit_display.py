"""How the admin shows audit events: the target as a named link, before/after as a field diff.

The audit trail stores a target as ``app_label.model`` and a key, and its before/after as JSON;
these turn them into what staff read. Core knows no app: targets are found through the model
registry and the admin site's own registry.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .models import AuditEvent


def target_model(target_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(target_type) if target_type else None
    except (LookupError, ValueError):
        return None


def target_type_label(target_type: str) -> str:
    model = target_model(target_type)
    return str(model._meta.verbose_name).capitalize() if model is not None else target_type


def _manager(model: type[models.Model]) -> models.Manager[Any]:
    # Soft-deleted rows are still what an event happened to.
    return getattr(model, "all_objects", model._default_manager)


def attach_targets(events: Iterable[AuditEvent]) -> None:
    """Loads the targets of ``events`` with one query per target type and sets each event's
    ``target_object`` (None when the row is gone or the type unknown)."""
    events = list(events)
    keys: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.target_id:
            keys[event.target_type].add(event.target_id)
    found: dict[tuple[str, str], models.Model] = {}
    for target_type, ids in keys.items():
        model = target_model(target_type)
        if model is None:
            continue
        try:
            # Joined with what their names read (a draft invoice names its customer).
            rows = _manager(model).select_related().filter(pk__in=list(ids))
            found.update({(target_type, str(row.pk)): row for row in rows})
        except (ValueError, TypeError, ValidationError):
            # A target id its model cannot read (a bad UUID): shown by type and id alone.
            continue
    for event in events:
        event.target_object = found.get((event.target_type, event.target_id))  # type: ignore[attr-defined]


def target_link(event: AuditEvent) -> SafeString | str:
    """The target's name, linked to its admin page when it has one."""
    if not event.target_type:
        return "—"
    if not hasattr(event, "target_object"):
        attach_targets([event])
    target = event.target_object  # type: ignore[attr-defined]
    label = target_type_label(event.target_type)
    if target is None:
        return f"{label} {event.target_id} (gone)"
    name = f"{label}: {target}"
    if type(target) not in admin.site._registry:
        return name
    try:
        url = reverse(
            f"admin:{target._meta.app_label}_{target._meta.model_name}_change", args=[target.pk]
        )
    except NoReverseMatch:
        return name
    return format_html('<a href="{}">{}</a>', url, name)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value) or "(none)"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_shown(item)}" for key, item in value.items())
    return str(value)


def field_changes(event: AuditEvent) -> list[FieldChange]:
    """Every field named in before or after, with both sides as text (— when absent)."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    names = list(dict.fromkeys([*before, *after]))
    return [
        FieldChange(
            field=name.replace("_", " "),
            before=_shown(before.get(name)) if name in before else "—",
            after=_shown(after.get(name)) if name in after else "—",
        )
        for name in names
    ]


def changes_summary(event: AuditEvent) -> str:
    """One line for a list: ``status: draft → open; amount: 0 → 70.00``."""
    return "; ".join(
        f"{change.field}: {change.after}"
        if change.before == "—"
        else f"{change.field}: {change.before} → {change.after}"
        for change in field_changes(event)
    )


def changes_table(event: AuditEvent) -> SafeString | str:
    changes = field_changes(event)
    if not changes:
        return "—"
    return format_html(
        '<table class="audit-diff"><thead><tr><th>Field</th><th>Before</th><th>After</th></tr>'
        "</thead><tbody>{}</tbody></table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((change.field, change.before, change.after) for change in changes),
        ),
    )
