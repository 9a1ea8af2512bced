"""The one way events reach the audit trail."""

from typing import Any

from django.db import models

from .context import ActionContext
from .models import AuditAction, AuditEvent


def record(
    *,
    action: AuditAction,
    actor: Any = None,
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    context: ActionContext,
) -> AuditEvent:
    """Writes one audit event. Call it inside the service's transaction so the event and the
    change it describes commit or roll back together."""
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        before=before,
        after=after,
        ip_address=context.ip_address,
        user_agent=context.user_agent,
    )
