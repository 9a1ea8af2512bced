"""Reads of outgoing webhooks: endpoints, their delivery logs, and what is due to be sent."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Min, QuerySet
from django.utils import timezone

from core.models import Event

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.all()


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint)


def latest_event_id() -> int:
    last = Event.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


def dispatch_start() -> int:
    """Where the dispatcher starts on its first run: the oldest endpoint's first event, or the
    log's end when there is no endpoint yet (a later one starts after its own creation)."""
    first: int | None = WebhookEndpoint.objects.aggregate(first=Min("after_event_id"))["first"]
    return latest_event_id() if first is None else first


def deliveries_due(
    *, endpoint: WebhookEndpoint, limit: int, now: datetime | None = None
) -> list[WebhookDelivery]:
    """What to send next to ``endpoint``, in event order. An ordered endpoint gets its oldest
    pending deliveries up to the first not yet due (a delivery waiting for its retry holds
    back the ones after it); an unordered one every pending delivery that is due."""
    now = now or timezone.now()
    pending = WebhookDelivery.objects.filter(
        endpoint=endpoint, status=DeliveryStatus.PENDING
    ).order_by("event_id")
    if not endpoint.ordered:
        return list(pending.filter(next_attempt_at__lte=now)[:limit])
    due = []
    for delivery in pending[:limit]:
        if delivery.next_attempt_at > now:
            break
        due.append(delivery)
    return due


def endpoints_due(*, now: datetime | None = None) -> list[UUID]:
    """Enabled endpoints with a pending delivery due by ``now``."""
    rows: Any = (
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now or timezone.now(),
            endpoint__enabled=True,
        )
        .order_by()
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    return list(rows)
