"""Outgoing webhooks: the endpoints staff register, and one delivery per event and endpoint
(docs/webhooks.md)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from core.db import CurrentTimestamp, TimestampedModel, timestamp_field

EVENT_TYPE_MAX_LENGTH = 100


class WebhookEndpoint(TimestampedModel):
    """A URL that receives, signed, every event of the types it subscribes to."""

    url = models.URLField(max_length=2000)
    events = ArrayField(models.CharField(max_length=EVENT_TYPE_MAX_LENGTH))
    description = models.CharField(max_length=500, blank=True, db_default="")
    enabled = models.BooleanField(default=True, db_default=True)
    # Deliveries in event order (a failing event holds back the ones after it); off, each
    # event is delivered as soon as it can be.
    ordered = models.BooleanField(default=True, db_default=True)
    # Encrypted (core/crypto.py): Atrium must read it back to sign.
    secret = models.TextField()
    # The secret before the last rotation signs too, until it expires.
    previous_secret = models.TextField(null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Only events after this id are delivered: an endpoint hears what happens once it exists.
    after_event_id = models.BigIntegerField(db_default=0)
    consecutive_failures = models.IntegerField(default=0, db_default=0)
    disabled_reason = models.CharField(max_length=200, blank=True, db_default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_endpoints",
        help_text="Who is emailed when the endpoint is disabled.",
    )

    class Meta:
        db_table = "webhook_endpoints"
        ordering = ["created_at", "id"]
        permissions = [("manage_webhookendpoint", "Can manage outgoing webhooks")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(events__len__gte=1),
                name="%(app_label)s_%(class)s_events_not_empty",
                violation_error_message="An endpoint subscribes to at least one event type.",
            ),
            models.CheckConstraint(
                condition=models.Q(consecutive_failures__gte=0),
                name="%(app_label)s_%(class)s_failures_not_negative",
                violation_error_message="Failures are counted from zero.",
            ),
            models.CheckConstraint(
                condition=models.Q(previous_secret__isnull=True)
                | models.Q(previous_secret_expires_at__isnull=False),
                name="%(app_label)s_%(class)s_previous_secret_expires",
                violation_error_message="A previous secret has an expiry.",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    # Retried for WEBHOOK_RETRY_WINDOW without a 2xx, or its event was purged first.
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint, and how its last attempt went."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by webhook_deliveries_log, which leads with it.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # No foreign key: retention purges events; the delivery log stays.
    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=EVENT_TYPE_MAX_LENGTH)
    status = models.CharField(
        max_length=20,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        db_default=DeliveryStatus.PENDING,
    )
    attempts = models.IntegerField(default=0, db_default=0)
    created_at = timestamp_field()
    next_attempt_at = models.DateTimeField(db_default=CurrentTimestamp())
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_latency_ms = models.IntegerField(null=True, blank=True)
    last_response_excerpt = models.TextField(blank=True, db_default="")
    last_error = models.CharField(max_length=500, blank=True, db_default="")

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"],
                name="%(app_label)s_%(class)s_once_per_endpoint",
                violation_error_message="An event is delivered once per endpoint.",
            ),
            models.CheckConstraint(
                condition=models.Q(attempts__gte=0),
                name="%(app_label)s_%(class)s_attempts_not_negative",
                violation_error_message="Attempts are counted from zero.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values),
                name="%(app_label)s_%(class)s_status_known",
                violation_error_message="Not a delivery status.",
            ),
        ]
        indexes = [
            # What a delivery job sends next: the endpoint's pending deliveries in event order.
            models.Index(
                fields=["endpoint", "event_id"],
                condition=models.Q(status=DeliveryStatus.PENDING),
                name="webhook_deliveries_pending",
            ),
            # The sweep: pending deliveries due by now, across endpoints.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status=DeliveryStatus.PENDING),
                name="webhook_deliveries_due",
            ),
            # The delivery log of an endpoint, newest first.
            models.Index(fields=["endpoint", "-id"], name="webhook_deliveries_log"),
            # The admin's list, newest first, filtered by status.
            models.Index(fields=["status", "-id"], name="webhook_deliveries_by_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.event_id} → {self.endpoint_id}"


class WebhookCursor(models.Model):
    """The one row saying up to which event the dispatcher has made deliveries; locked by the
    dispatcher so two never read the same events."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "webhook_cursor"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1),
                name="%(app_label)s_%(class)s_single_row",
                violation_error_message="There is one cursor.",
            ),
        ]

    def __str__(self) -> str:
        return f"dispatched up to event {self.last_event_id}"
