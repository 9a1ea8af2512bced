"""The one way events reach the audit trail."""

from typing import Any

from django.db import models
from django.http import HttpRequest

from .models import AuditAction, AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    # REMOTE_ADDR is what the proxy in front hands us; trusting X-Forwarded-For is a
    # deployment decision made in the proxy, not here.
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    action: AuditAction,
    actor: Any = None,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    request: HttpRequest | None = None,
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
        ip_address=client_ip(request),
        user_agent=request.headers.get("User-Agent", "") if request is not None else "",
    )
