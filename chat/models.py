from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast
from django.db.models.lookups import Exact, LessThanOrEqual

from core.db import (
    CurrentTimestamp,
    JSONBTypeof,
    SoftDeleteModel,
    TimestampedModel,
    UUIDModel,
    timestamp_field,
)

from . import sql


class OctetLength(models.Func):
    """``octet_length(text)``: the size in bytes a check constraint can bound."""

    function = "octet_length"
    output_field = models.IntegerField()


# The search configuration of messages.search_vector: chat/sql.py's queries name the same one,
# so the GIN index serves them.
SEARCH_CONFIG = sql.SEARCH_CONFIG


def excerpt(text: str, length: int = 80) -> str:
    """The start of a message, on one line, for lists and names."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else f"{flat[: length - 1]}…"


# What a message's ``metadata`` may weigh, as JSON text (the product asks for "a size limit").
METADATA_MAX_BYTES = 4096
TITLE_MAX_LENGTH = 255


class Conversation(TimestampedModel, SoftDeleteModel):
    """A chat room with participants (table ``conversations``)."""

    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    # Denormalised: the time of the newest message (or of the creation), written by the
    # posting service under the conversation's row lock, so "my conversations by latest
    # activity" sorts without touching messages.
    last_activity_at = models.DateTimeField(db_default=CurrentTimestamp(), editable=False)

    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Participant", related_name="conversations"
    )

    class Meta(SoftDeleteModel.Meta):
        db_table = "conversations"
        ordering = ["-last_activity_at", "-id"]
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
    # Everything up to and including this message counts as read; it only moves forward.
    # SET_NULL is what a purge of the message should do; the column has its own index.
    last_read_message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_read_at = models.DateTimeField(null=True, blank=True, editable=False)

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
    # A reply. The database holds it in the same conversation with a composite foreign key
    # (parent_id, conversation_id) -> messages (id, conversation_id), created in migration
    # 0002 because Django cannot declare one; hence no constraint from Django here.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="replies",
    )
    edited_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Moves whenever what a client shows of the message changes (sent, edited, deleted,
    # reacted to): ``since`` sync reads a conversation's changes by it.
    changed_at = models.DateTimeField(db_default=CurrentTimestamp(), editable=False)
    # Kept by PostgreSQL (GENERATED ALWAYS ... STORED), so plain-SQL writers and bulk loads
    # index their text too.
    search_vector = models.GeneratedField(
        expression=SearchVector("content", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta(SoftDeleteModel.Meta):
        db_table = "messages"
        ordering = ["-sent_at", "-id"]
        indexes = [
            # A conversation's messages newest first, with id breaking ties for keyset
            # pagination; it also serves every lookup by conversation_id.
            models.Index(
                fields=["conversation", "-sent_at", "-id"], name="messages_conv_newest_idx"
            ),
            # ``since`` sync: a conversation's changes in the order they happened.
            models.Index(
                fields=["conversation", "changed_at", "id"], name="messages_conv_changed_idx"
            ),
            # A thread's replies oldest first; it also serves the foreign key on parent_id.
            models.Index(
                fields=["parent", "sent_at", "id"],
                name="messages_parent_idx",
                condition=models.Q(parent__isnull=False),
            ),
            # Search within the caller's conversations: the conversation id leads (btree_gin),
            # so each conversation is probed for its matches alone, however busy it is.
            GinIndex(fields=["conversation", "search_vector"], name="messages_search_idx"),
            # The staff console's list, newest first (live rows, or all), and its filters:
            # by type, and the deleted ones (few, so a partial index of their own).
            models.Index(fields=["-sent_at", "-id"], name="messages_newest_idx"),
            models.Index(
                fields=["message_type", "-sent_at", "-id"], name="messages_type_newest_idx"
            ),
            models.Index(
                fields=["-sent_at", "-id"],
                name="messages_deleted_newest_idx",
                condition=models.Q(deleted_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(message_type__in=MessageType.values),
                name="%(app_label)s_%(class)s_type_valid",
                violation_error_message="A message is text, system or file.",
            ),
            # The target of the composite foreign key that keeps replies in their thread's
            # conversation.
            models.UniqueConstraint(
                fields=["id", "conversation"], name="%(app_label)s_%(class)s_id_conversation_uniq"
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")),
                name="%(app_label)s_%(class)s_not_own_parent",
                violation_error_message="A message cannot reply to itself.",
            ),
            models.CheckConstraint(
                condition=models.Q(metadata__isnull=True)
                | models.Q(metadata={})
                | models.Q(
                    Exact(JSONBTypeof(KeyTransform("event_type", "metadata")), "string"),
                    Exact(JSONBTypeof(KeyTransform("payload", "metadata")), "object"),
                ),
                name="%(app_label)s_%(class)s_metadata_shape",
                violation_error_message='Metadata is {} or {"event_type": "…", "payload": {…}}.',
            ),
            models.CheckConstraint(
                condition=models.Q(metadata__isnull=True)
                | models.Q(
                    LessThanOrEqual(
                        OctetLength(Cast("metadata", models.TextField())), METADATA_MAX_BYTES
                    )
                ),
                name="%(app_label)s_%(class)s_metadata_size",
                violation_error_message=f"Metadata is at most {METADATA_MAX_BYTES} bytes of JSON.",
            ),
        ]

    def __str__(self) -> str:
        return excerpt(self.content) or f"({self.get_message_type_display()} message)"


class MessageEdit(UUIDModel):
    """The content a message had before one edit (table ``message_edits``), newest last."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="edits", db_index=False
    )
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    previous_content = models.TextField()
    previous_metadata = models.JSONField(null=True, blank=True)
    edited_at = timestamp_field()

    class Meta:
        db_table = "message_edits"
        ordering = ["message", "edited_at", "id"]
        indexes = [
            models.Index(fields=["message", "edited_at", "id"], name="message_edits_message_idx"),
        ]

    def __str__(self) -> str:
        return f"Earlier version: {excerpt(self.previous_content)}"


class MessageReaction(UUIDModel):
    """One user's emoji on one message (table ``message_reactions``)."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="reactions", db_index=False
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)
    created_at = timestamp_field()

    class Meta:
        db_table = "message_reactions"
        ordering = ["message", "created_at", "id"]
        constraints = [
            # One per user per emoji per message; its index (message first) also serves the
            # foreign key and the per-message aggregation of the message pages.
            models.UniqueConstraint(
                fields=["message", "user", "emoji"],
                name="%(app_label)s_%(class)s_one_per_user_emoji",
                violation_error_message="You already reacted with this emoji.",
            ),
            models.CheckConstraint(
                condition=models.Q(emoji__regex=r"^\S{1,32}$"),
                name="%(app_label)s_%(class)s_emoji_valid",
                violation_error_message="An emoji is 1 to 32 characters without spaces.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} reaction"
