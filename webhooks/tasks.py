"""Webhook jobs: the dispatcher (events → deliveries), one delivery job per endpoint at a time,
the sweep that brings retries and missed wake-ups back, and the owner's notice."""

import logging
import time
from typing import Any

from django.core.mail import send_mail
from django.template.loader import render_to_string

from core.jobs import DEFAULT_RETRY, app
from core.services.jobs import defer_once

from . import addresses, payloads, selectors, services
from .models import WebhookEndpoint
from .sender import Attempt, Sender

logger = logging.getLogger(__name__)

# Deliveries read and sent per round, and how long one job keeps an endpoint before it makes
# room for others (it enqueues its own continuation).
BATCH_SIZE = 200
JOB_SECONDS = 20.0


@app.task(name="webhooks.dispatch", queueing_lock="webhooks.dispatch", lock="webhooks.dispatch")
def dispatch() -> None:
    """Makes deliveries of every event committed since the last run."""
    while True:
        read, _ = services.deliveries_dispatch()
        if read < services.DISPATCH_BATCH_SIZE:
            return


# Enqueued by services.deliver_later, one waiting and one running per endpoint.
@app.task(name="webhooks.deliver", retry=DEFAULT_RETRY)
def deliver(endpoint_id: str) -> None:
    deadline = time.monotonic() + JOB_SECONDS
    while time.monotonic() < deadline:
        endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).first()
        if endpoint is None:
            return
        due = selectors.deliveries_due(endpoint=endpoint, limit=BATCH_SIZE)
        if not due:
            return
        attempts = _send(endpoint, due)
        enabled = services.deliveries_record(endpoint=endpoint, attempts=attempts)
        if not enabled or not all(attempt.ok for attempt in attempts):
            return  # the rest waits for the retry the sweep brings
    services.deliver_later(endpoint_id)


def _send(endpoint: WebhookEndpoint, due: list[Any]) -> list[Attempt]:
    """Sends ``due`` in order, stopping at the first failure (the endpoint is likely down)."""
    try:
        target = addresses.resolve(endpoint.url)
    except addresses.RefusedAddress as refusal:
        return [Attempt(delivery_id=due[0].pk, ok=False, error=str(refusal))]
    bodies = payloads.bodies(delivery.event_id for delivery in due)
    secrets = services.signing_secrets(endpoint)
    attempts = []
    with Sender(target) as sender:
        for delivery in due:
            body = bodies.get(delivery.event_id)
            if body is None:
                attempt = Attempt(delivery_id=delivery.pk, ok=False, error="The event was purged.")
            else:
                attempt = sender.post(
                    delivery_id=delivery.pk, event_id=delivery.event_id, body=body, secrets=secrets
                )
            attempts.append(attempt)
            if not attempt.ok:
                break
    return attempts


# Every 10 seconds: retries come due and a wake-up may have been missed.
@app.periodic(cron="* * * * * */10")
@app.task(name="webhooks.sweep", queueing_lock="webhooks.sweep")
def sweep(timestamp: int) -> None:
    defer_once("webhooks.dispatch")
    for endpoint_id in selectors.endpoints_due():
        services.deliver_later(endpoint_id)


@app.task(name="webhooks.send_disabled_notice", retry=DEFAULT_RETRY)
def send_disabled_notice(*, endpoint_id: str, failures: int) -> None:
    endpoint = WebhookEndpoint.objects.select_related("owner").filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.owner is None:
        return
    body = render_to_string(
        "webhooks/email/endpoint_disabled.txt", {"endpoint": endpoint, "failures": failures}
    )
    send_mail("An Atrium webhook endpoint was disabled", body, None, [endpoint.owner.email])
