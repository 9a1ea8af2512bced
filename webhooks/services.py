"""Writes of outgoing webhooks: endpoints and their secrets, turning events into deliveries,
recording attempts, resending. docs/webhooks.md tells the whole flow."""

import secrets as random_secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from core import audit, crypto
from core.context import SYSTEM, ActionContext
from core.events import Audience, publish
from core.exceptions import PermissionDenied, ValidationFailed
from core.jobs import app
from core.models import AuditAction, Event
from core.services.jobs import defer_once

from . import addresses, selectors, sql
from .event_types import EVENT_TYPES
from .models import DeliveryStatus, WebhookCursor, WebhookDelivery, WebhookEndpoint
from .sender import Attempt

MANAGE_PERMISSION = "webhooks.manage_webhookendpoint"
# How long a delivery is retried before it is given up.
RETRY_WINDOW = timedelta(days=3)
# The waits between attempts double from WEBHOOKS_FIRST_RETRY_SECONDS (10 s: with the sweep
# every 10 s, the first retry comes within 30 s) up to 6 h.
MAX_RETRY_SECONDS = 6 * 3600
DEFAULT_ROTATION_OVERLAP = timedelta(hours=24)
DISPATCH_BATCH_SIZE = 1000
_AUDIENCE = Audience.permission(MANAGE_PERMISSION)
_EDITABLE = frozenset({"url", "events", "description", "enabled", "ordered"})


def _require_manager(actor: Any) -> None:
    if actor is not None and not actor.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied("You may not manage webhooks.")


def _new_secret() -> str:
    return f"whsec_{random_secrets.token_urlsafe(32)}"


def _validated_url(url: str) -> str:
    try:
        addresses.resolve(url)
    except addresses.RefusedAddress as refusal:
        raise ValidationFailed(
            "This URL may not receive webhooks.", fields={"url": [str(refusal)]}
        ) from refusal
    return url


def _validated_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [name for name in chosen if name not in EVENT_TYPES]
    if not chosen or unknown:
        message = (
            f"Not event types Atrium publishes: {', '.join(unknown)}."
            if unknown
            else "Choose at least one event type."
        )
        raise ValidationFailed("The event types are not valid.", fields={"events": [message]})
    return chosen


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one while its
    rotation overlap lasts."""
    found = [crypto.decrypt(endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > (now or timezone.now()):
        found.append(crypto.decrypt(endpoint.previous_secret))
    return found


def _announce(type: str, endpoint: WebhookEndpoint, actor: Any, context: ActionContext) -> None:
    publish(
        type=type,
        target=endpoint,
        audience=_AUDIENCE,
        actor=actor,
        context=context,
        # The endpoint as GET answers it (never its secret); once deleted, named only.
        payload={"id": str(endpoint.pk)} if type == "webhook_endpoint.deleted" else None,
    )


@transaction.atomic(durable=True)
def endpoint_create(
    *,
    url: str,
    events: list[str],
    description: str = "",
    enabled: bool = True,
    ordered: bool = True,
    actor: User | None,
    context: ActionContext,
) -> tuple[WebhookEndpoint, str]:
    """Registers an endpoint for the events that happen from now on; returns it and its
    signing secret, which is shown this once."""
    _require_manager(actor)
    secret = _new_secret()
    endpoint = WebhookEndpoint.objects.create(
        url=_validated_url(url),
        events=_validated_events(events),
        description=description,
        enabled=enabled,
        ordered=ordered,
        secret=crypto.encrypt(secret),
        after_event_id=selectors.latest_event_id(),
        owner=actor,
    )
    audit.record(
        action=AuditAction.WEBHOOK_ENDPOINT_CREATED,
        actor=actor,
        target=endpoint,
        after={"url": endpoint.url, "events": endpoint.events},
        context=context,
    )
    _announce("webhook_endpoint.created", endpoint, actor, context)
    return endpoint, secret


@transaction.atomic(durable=True)
def endpoint_update(
    *, endpoint: WebhookEndpoint, actor: User | None, context: ActionContext, **changes: Any
) -> WebhookEndpoint:
    """Changes the given fields; enabling a disabled endpoint forgets its failures, and its
    pending deliveries go out again."""
    _require_manager(actor)
    unknown = changes.keys() - _EDITABLE
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if "url" in changes:
        changes["url"] = _validated_url(changes["url"])
    if "events" in changes:
        changes["events"] = _validated_events(changes["events"])
    changed = {name: value for name, value in changes.items() if getattr(endpoint, name) != value}
    if changed.get("enabled") is True:
        changed.update(consecutive_failures=0, disabled_reason="")
    if not changed:
        return endpoint
    before = {name: getattr(endpoint, name) for name in changed}
    for name, value in changed.items():
        setattr(endpoint, name, value)
    endpoint.save(update_fields=[*changed, "updated_at"])
    audit.record(
        action=AuditAction.WEBHOOK_ENDPOINT_UPDATED,
        actor=actor,
        target=endpoint,
        before=before,
        after=changed,
        context=context,
    )
    _announce("webhook_endpoint.updated", endpoint, actor, context)
    return endpoint


@transaction.atomic(durable=True)
def endpoint_delete(
    *, endpoint: WebhookEndpoint, actor: User | None, context: ActionContext
) -> None:
    """Removes the endpoint and its delivery log."""
    _require_manager(actor)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    audit.record(
        action=AuditAction.WEBHOOK_ENDPOINT_DELETED,
        actor=actor,
        target=endpoint,
        before={"url": endpoint.url},
        context=context,
    )
    _announce("webhook_endpoint.deleted", endpoint, actor, context)
    endpoint.delete()


@transaction.atomic(durable=True)
def endpoint_rotate_secret(
    *,
    endpoint: WebhookEndpoint,
    overlap: timedelta = DEFAULT_ROTATION_OVERLAP,
    actor: User | None,
    context: ActionContext,
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret, returned this once; the old one keeps signing too (a second
    ``v1``) for ``overlap``, so the receiver can switch without refusing a delivery."""
    _require_manager(actor)
    if overlap < timedelta(0) or overlap > timedelta(days=7):
        raise ValidationFailed(
            "The overlap is out of range.", fields={"overlap_hours": ["From 0 to 168 hours."]}
        )
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = _new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + overlap
    endpoint.secret = crypto.encrypt(secret)
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    audit.record(
        action=AuditAction.WEBHOOK_SECRET_ROTATED,
        actor=actor,
        target=endpoint,
        after={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
        context=context,
    )
    _announce("webhook_endpoint.secret_rotated", endpoint, actor, context)
    return endpoint, secret


@transaction.atomic(durable=True)
def deliveries_dispatch(*, batch_size: int = DISPATCH_BATCH_SIZE) -> tuple[int, set[Any]]:
    """Turns the events after the dispatcher's cursor into deliveries, one per subscribed
    endpoint, and enqueues a delivery job for each endpoint that got some. Returns how many
    events were read and the endpoints that got deliveries.

    The cursor row is locked, so concurrent dispatchers take turns; event ids become visible
    in increasing order (docs/events.md), so no event is skipped."""
    cursor = WebhookCursor.objects.select_for_update().filter(pk=1).first()
    if cursor is None:
        # The first run starts where the oldest endpoint starts: no event before it can have
        # a delivery. The dispatch job's lock makes this run the only one.
        cursor = WebhookCursor.objects.create(pk=1, last_event_id=selectors.dispatch_start())
    batch = list(
        Event.objects.filter(id__gt=cursor.last_event_id)
        .order_by("id")
        .values_list("id", flat=True)[:batch_size]
    )
    if not batch:
        return 0, set()
    with connection.cursor() as db:
        db.execute(sql.DISPATCH, {"after": cursor.last_event_id, "upto": batch[-1]})
        touched = {endpoint_id for (endpoint_id,) in db.fetchall()}
    cursor.last_event_id = batch[-1]
    cursor.save(update_fields=["last_event_id"])
    for endpoint_id in touched:
        deliver_later(endpoint_id)
    return len(batch), touched


def deliver_later(endpoint_id: Any) -> None:
    """Enqueues a delivery run for the endpoint (webhooks.tasks.deliver) in the caller's
    transaction, unless one is already waiting. The lock keeps two workers from sending to one
    endpoint at once, which would break its order."""
    defer_once(
        "webhooks.deliver",
        lock=f"webhooks.endpoint:{endpoint_id}",
        queueing_lock=f"webhooks.deliver:{endpoint_id}",
        endpoint_id=str(endpoint_id),
    )


def retry_wait(attempts: int) -> timedelta:
    """How long a delivery that failed ``attempts`` times waits before the next attempt."""
    first = settings.WEBHOOKS_FIRST_RETRY_SECONDS
    return timedelta(seconds=min(MAX_RETRY_SECONDS, first * 2 ** (attempts - 1)))


@transaction.atomic(durable=True)
def deliveries_record(*, endpoint: WebhookEndpoint, attempts: list[Attempt]) -> bool:
    """Records a batch of attempts to ``endpoint``: delivered, retried later with backoff, or
    given up after RETRY_WINDOW. The endpoint's run of failures grows with each failure and
    ends with a success; at WEBHOOKS_DISABLE_AFTER_FAILURES it is disabled and its owner
    emailed. Returns whether the endpoint is still enabled."""
    if not attempts:
        return True
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    now = timezone.now()
    rows = {
        row["id"]: row
        for row in WebhookDelivery.objects.filter(
            id__in=[attempt.delivery_id for attempt in attempts]
        ).values("id", "attempts", "created_at")
    }
    params: list[dict[str, Any]] = []
    failures = endpoint.consecutive_failures
    for attempt in attempts:
        row = rows.get(attempt.delivery_id)
        if row is None:
            continue
        if attempt.ok:
            status, next_attempt_at, failures = DeliveryStatus.DELIVERED, None, 0
        elif now - row["created_at"] >= RETRY_WINDOW:
            status, next_attempt_at = DeliveryStatus.FAILED, None
            failures += 1
        else:
            status = DeliveryStatus.PENDING
            next_attempt_at = now + retry_wait(row["attempts"] + 1)
            failures += 1
        params.append(
            {
                "id": attempt.delivery_id,
                "status": status,
                "next_attempt_at": next_attempt_at,
                "status_code": attempt.status_code,
                "latency_ms": attempt.latency_ms,
                "excerpt": attempt.excerpt,
                "error": attempt.error,
            }
        )
    with connection.cursor() as cursor:
        cursor.executemany(sql.RECORD_ATTEMPT, params)
    disable = endpoint.enabled and failures >= settings.WEBHOOKS_DISABLE_AFTER_FAILURES
    changes: dict[str, Any] = {"consecutive_failures": failures}
    if disable:
        changes.update(
            enabled=False, disabled_reason=f"{failures} failed attempts in a row ({now:%Y-%m-%d})"
        )
    if failures != endpoint.consecutive_failures or disable:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**changes)
    if disable:
        _disabled(endpoint=endpoint, failures=failures)
    return endpoint.enabled and not disable


def _disabled(*, endpoint: WebhookEndpoint, failures: int) -> None:
    """Records, announces and emails that ``endpoint`` was disabled; in the caller's
    transaction."""
    audit.record(
        action=AuditAction.WEBHOOK_ENDPOINT_DISABLED,
        target=endpoint,
        after={"consecutive_failures": failures},
        context=SYSTEM,
    )
    _announce("webhook_endpoint.disabled", endpoint, None, SYSTEM)
    if endpoint.owner_id is not None:
        app.configure_task("webhooks.send_disabled_notice", allow_unknown=False).defer(
            endpoint_id=str(endpoint.pk), failures=failures
        )


@transaction.atomic(durable=True)
def delivery_resend(
    *, delivery: WebhookDelivery, actor: User | None, context: ActionContext
) -> WebhookDelivery:
    """Sends the delivery's event again, now, whatever became of it before; its attempts keep
    counting. Receivers deduplicate by ``Atrium-Event-Id``."""
    _require_manager(actor)
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), created_at=timezone.now()
    )
    audit.record(
        action=AuditAction.WEBHOOK_DELIVERY_RESENT,
        actor=actor,
        target=delivery,
        before={"status": delivery.status, "attempts": delivery.attempts},
        context=context,
    )
    deliver_later(delivery.endpoint_id)
    delivery.refresh_from_db()
    return delivery
