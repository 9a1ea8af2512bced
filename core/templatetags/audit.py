"""The audit trail of one object, for its admin History page."""

from django import template
from django.urls import reverse

from core import audit_display
from core.models import AuditEvent

register = template.Library()

# The History page shows the latest; the audit list, linked from it, has them all.
HISTORY_LIMIT = 50


@register.inclusion_tag("admin/audit_history.html")
def audit_history(obj) -> dict:
    target_type, target_id = obj._meta.label_lower, str(obj.pk)
    events = list(
        AuditEvent.objects.filter(target_type=target_type, target_id=target_id)
        .select_related("actor")
        .order_by("-occurred_at")[: HISTORY_LIMIT + 1]
    )
    return {
        "events": [
            {"event": event, "changes": audit_display.field_changes(event)}
            for event in events[:HISTORY_LIMIT]
        ],
        "more": len(events) > HISTORY_LIMIT,
        "all_url": reverse("admin:core_auditevent_changelist")
        + f"?target_type={target_type}&target_id={target_id}",
    }
