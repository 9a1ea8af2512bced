from django.conf import settings
from django.db import models

from core.db import SoftDeleteModel, TimestampedModel, UUIDModel, timestamp_field


class Conversation(TimestampedModel, SoftDeleteModel):
    """A chat room with participants (table ``conversations``)."""

    title = models.CharField(max_length=255)

    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Participant", related_name="conversations"
    )

    class Meta(SoftDeleteModel.Meta):
        db_table = "conversations"
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(title=""),
                name="%(app_label)s_%(class)s_title_not_empty",
                violation_error_message="A conversation needs a title.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ParticipantRole(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class Participant(models.Model):
    """A user's membership of a conversation (table ``participants``)."""

    pk = models.CompositePrimaryKey("conversation_id", "user_id")
    # The primary key's index already serves lookups by conversation.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=50, choices=ParticipantRole.choices)
    joined_at = timestamp_field()

    class Meta:
        db_table = "participants"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=ParticipantRole.values),
                name="%(app_label)s_%(class)s_role_valid",
                violation_error_message="A participant is an owner, an admin or a member.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id} ({self.role})"


class MessageType(models.TextChoices):
    TEXT = "text"
    SYSTEM = "system"
    FILE = "file"


class Message(UUIDModel, SoftDeleteModel):
    """One message in a conversation (table ``messages``)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages"
    )
    content = models.TextField()
    message_type = models.CharField(max_length=50, choices=MessageType.choices)
    metadata = models.JSONField(null=True, default=dict, db_default={}, blank=True)
    sent_at = timestamp_field()

    class Meta(SoftDeleteModel.Meta):
        db_table = "messages"
        ordering = ["-sent_at", "-id"]
        indexes = [
            # A conversation's messages newest first, with id breaking ties for keyset
            # pagination; it also serves every lookup by conversation_id.
            models.Index(
                fields=["conversation", "-sent_at", "-id"], name="messages_conv_newest_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(message_type__in=MessageType.values),
                name="%(app_label)s_%(class)s_type_valid",
                violation_error_message="A message is text, system or file.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_type} message {self.pk}"
