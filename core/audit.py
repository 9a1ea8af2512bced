"""The one way events reach the audit trail."""

from typing import Any

from django.db import models

from .context import SYSTEM, ActionContext
from .models import AuditAction, AuditEvent


def _legacy_context(request: Any) -> ActionContext:
    # Transitional while the apps move from passing the request to passing its context.
    from core.api.context import action_context

    return SYSTEM if request is None else action_context(request)


def client_ip(request: Any) -> str | None:
    return _legacy_context(request).ip_address


def record(
    *,
    action: AuditAction,
    actor: Any = None,
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    context: ActionContext | None = None,
    request: Any = None,
) -> AuditEvent:
    """Writes one audit event. Call it inside the service's transaction so the event and the
    change it describes commit or roll back together."""
    if context is None:
        context = _legacy_context(request)
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
