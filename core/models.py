from datetime import datetime

from django.conf import settings
from django.db import models

from .db import CurrentTimestamp, UUIDModel, timestamp_field

# Who may read an event: the kinds core/events.py resolves (a row of another kind would be
# seen by nobody).
AUDIENCE_KINDS = ("conversation", "document", "user", "permission")


class AuditAction(models.TextChoices):
    """Every event docs/product.md §1 asks to be recorded."""

    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    ACCOUNT_LOCKED = "account.locked"
    ACCOUNT_UNLOCKED = "account.unlocked"
    TWO_FACTOR_ENABLED = "2fa.enabled"
    TWO_FACTOR_DISABLED = "2fa.disabled"
    RECOVERY_CODE_USED = "2fa.recovery_code_used"
    PASSWORD_CHANGED = "password.changed"  # noqa: S105 (an event name)
    SESSION_CREATED = "session.created"
    SESSION_REVOKED = "session.revoked"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    ROLES_CHANGED = "roles.changed"
    ROLE_PERMISSIONS_CHANGED = "role.permissions_changed"
    RECOVERY_CODES_REGENERATED = "2fa.recovery_codes_regenerated"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"
    SHARE_GRANTED = "share.granted"
    SHARE_REVOKED = "share.revoked"
    INVOICE_FINALIZED = "invoice.finalized"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_PAID = "invoice.paid"
    PAYMENT_RECORDED = "payment.recorded"
    PAYMENT_REFUNDED = "payment.refunded"
    INVOICE_CREATED = "invoice.created"
    INVOICE_UPDATED = "invoice.updated"
    INVOICE_DELETED = "invoice.deleted"
    INVOICE_MARKED_UNCOLLECTIBLE = "invoice.marked_uncollectible"
    INVOICE_REOPENED = "invoice.reopened"
    PAYMENT_STATUS_CHANGED = "payment.status_changed"
    CREDIT_NOTE_ISSUED = "credit_note.issued"
    INVOICE_SEND_REQUESTED = "invoice.send_requested"
    INVOICE_SENT = "invoice.sent"
    INVOICE_REMINDER_SENT = "invoice.reminder_sent"
    INVOICE_DUNNING_EXHAUSTED = "invoice.dunning_exhausted"
    DELETED_ROWS_PURGED = "deleted_rows.purged"
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_DELETED = "customer.deleted"
    CUSTOMER_RESTORED = "customer.restored"
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    PRODUCT_DELETED = "product.deleted"
    PRODUCT_RESTORED = "product.restored"
    ROLE_CREATED = "role.created"
    ROLE_RENAMED = "role.renamed"
    ROLE_DELETED = "role.deleted"
    DOCUMENT_DELETED = "document.deleted"
    DOCUMENT_RESTORED = "document.restored"
    JOB_RETRIED = "job.retried"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated"
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted"
    WEBHOOK_SECRET_ROTATED = "webhook_endpoint.secret_rotated"  # noqa: S105 (an event name)
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    WEBHOOK_DELIVERY_RESENT = "webhook_delivery.resent"
    LOG_MONTH_ARCHIVED = "log_month.archived"


class AuditEvent(UUIDModel):
    """One security or business event; PostgreSQL refuses UPDATE and DELETE on these rows."""

    occurred_at = models.DateTimeField(db_default=CurrentTimestamp(), editable=False)
    # No database FK: the trail must outlive the accounts it mentions, and an append-only
    # row could never be re-pointed or nulled when a user goes.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # AuditAction names the known actions; no ``choices`` here so each app can add actions
    # without a migration of this table.
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100, blank=True, db_default="")
    target_id = models.CharField(max_length=100, blank=True, db_default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True, db_default="")

    class Meta:
        db_table = "audit_events"
        ordering = ["-occurred_at"]
        indexes = [
            # Newest first, whole or by action (the staff console's list and its filter): the
            # id breaks ties as the admin's order does.
            models.Index(fields=["-occurred_at", "-id"], name="audit_events_newest_idx"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_events_actor_idx"),
            models.Index(fields=["target_type", "target_id"], name="audit_events_target_idx"),
            models.Index(
                fields=["action", "-occurred_at", "-id"], name="audit_events_action_newest_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(action=""),
                name="%(app_label)s_%(class)s_action_not_empty",
                violation_error_message="An audit event needs an action.",
            ),
        ]

    def __str__(self) -> str:
        when = (
            f" on {self.occurred_at:%d %b %Y %H:%M}"
            if isinstance(self.occurred_at, datetime)
            else ""
        )
        return f"{self.action}{when}"


class Event(models.Model):
    """One announcement in the order its transaction wrote it: the event log (table ``events``).

    ``core.events.publish`` writes it inside the service's transaction, so it exists exactly when
    the change does. ``id`` is the stream's cursor: migration 0004 makes every insert wait for
    the previous publishing transaction to finish, so ids become visible in increasing order and
    a reader that has seen an id can never later find a smaller one. PostgreSQL refuses UPDATE;
    DELETE is left to ``manage.py purge_events`` (retention).
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_default=CurrentTimestamp(), editable=False)
    type = models.CharField(max_length=100)  # "<object>.<what happened>"
    object_type = models.CharField(max_length=100)  # the model's label, "chat.message"
    object_id = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, db_default={}, blank=True)
    # No foreign key, as on audit_events: the log outlives the accounts it mentions.
    actor_id = models.UUIDField(null=True, blank=True)
    # Who may read it, decided when it is read (core.events.events_after): an audience kind
    # ("conversation", "document", "user", "permission") and its key (an id or a permission).
    audience_kind = models.CharField(max_length=32)
    audience_key = models.CharField(max_length=255)
    request_id = models.CharField(max_length=64, blank=True, db_default="")

    class Meta:
        db_table = "events"
        ordering = ["id"]
        indexes = [
            # The read path: each audience the reader belongs to, after the cursor.
            models.Index(
                fields=["audience_kind", "audience_key", "id"], name="events_audience_idx"
            ),
            # Retention: purge_events finds the old rows by time.
            models.Index(fields=["occurred_at"], name="events_occurred_idx"),
            # The staff console's list by audience kind, newest first.
            models.Index(fields=["audience_kind", "-id"], name="events_kind_newest_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(type=""),
                name="%(app_label)s_%(class)s_type_not_empty",
                violation_error_message="An event needs a type.",
            ),
            # The kinds core/events.py resolves; a row of another kind would be seen by nobody.
            models.CheckConstraint(
                condition=models.Q(audience_kind__in=AUDIENCE_KINDS),
                name="%(app_label)s_%(class)s_audience_kind_known",
                violation_error_message="An event's audience is a conversation, a document, "
                "a user or a permission.",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} {self.object_type}:{self.object_id}"


class IdempotencyKey(UUIDModel):
    """The first answer to a write sent with an ``Idempotency-Key`` (table
    ``idempotency_keys``; core.services.idempotency). The row is inserted before the work, in
    the same transaction, so a concurrent retry waits on the unique index and then replays it.
    Billing's until the other creates took keys too; the table kept its name."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = timestamp_field()

    class Meta:
        db_table = "idempotency_keys"
        indexes = [models.Index(fields=["created_at"], name="idempotency_keys_created_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="%(app_label)s_%(class)s_unique_per_user",
                violation_error_message="This idempotency key was already used.",
            ),
            models.CheckConstraint(
                condition=~models.Q(key=""),
                name="%(app_label)s_%(class)s_key_not_empty",
                violation_error_message="An idempotency key cannot be empty.",
            ),
        ]

    def __str__(self) -> str:
        return self.key
