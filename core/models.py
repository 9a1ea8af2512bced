from django.conf import settings
from django.db import models

from .db import CurrentTimestamp, UUIDModel


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
    DELETED_ROWS_PURGED = "deleted_rows.purged"


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
            models.Index(fields=["-occurred_at"], name="audit_events_occurred_idx"),
            models.Index(fields=["actor", "-occurred_at"], name="audit_events_actor_idx"),
            models.Index(fields=["target_type", "target_id"], name="audit_events_target_idx"),
            models.Index(fields=["action", "-occurred_at"], name="audit_events_action_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(action=""),
                name="%(app_label)s_%(class)s_action_not_empty",
                violation_error_message="An audit event needs an action.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


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
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(type=""),
                name="%(app_label)s_%(class)s_type_not_empty",
                violation_error_message="An event needs a type.",
            ),
            # The kinds core/events.py resolves; a row of another kind would be seen by nobody.
            models.CheckConstraint(
                condition=models.Q(
                    audience_kind__in=("conversation", "document", "user", "permission")
                ),
                name="%(app_label)s_%(class)s_audience_kind_known",
                violation_error_message="An event's audience is a conversation, a document, "
                "a user or a permission.",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} {self.object_type}:{self.object_id}"
