"""Shapes of the chat API.

Input serializers validate fields; the rules of a message's content are chat.services.messages'
own (the services enforce them), called here as well so a bad field is named before any query.
Output serializers describe what comes back; the hot lists are built as JSON by PostgreSQL
(chat/selectors.py) in exactly these shapes: tests/chat/test_api_properties.py holds every
response to the OpenAPI schema generated from these classes, and tests/chat/test_messages_api.py
a posted message to MessageOutput.
"""

from datetime import UTC
from typing import Any

from rest_framework import serializers

from accounts.models import User
from chat.models import (
    METADATA_MAX_BYTES,
    TITLE_MAX_LENGTH,
    MessageType,
    Participant,
    ParticipantRole,
)
from chat.services.conversations import MAX_INITIAL_PARTICIPANTS
from chat.services.messages import (
    FILE_EVENT,
    MAX_CONTENT_LENGTH,
    METADATA_ERRORS,
    content_error,
    metadata_error,
)
from core.api.validation import represented

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class TimestampField(serializers.DateTimeField):
    """UTC, ISO 8601 with a ``Z`` and always six fractional digits: what the SQL-built pages
    write, so one message reads the same from every endpoint."""

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class MetadataField(serializers.JSONField):
    """``{}`` or ``{"event_type": "<dotted.lowercase.name>", "payload": {...}}``, at most
    METADATA_MAX_BYTES bytes as JSON text (chat.services.messages.metadata_error)."""

    # str.format runs on these (DRF's ``fail``): braces doubled.
    default_error_messages = {
        code: text.replace("{", "{{").replace("}", "}}") for code, text in METADATA_ERRORS.items()
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problem = metadata_error(value)
        if problem is not None:
            self.fail(problem)
        return value


# --- input ----------------------------------------------------------------------------------


class InitialParticipantInput(serializers.Serializer):
    user_id = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True).select_related("profile")
    )
    role = serializers.ChoiceField(choices=ParticipantRole.choices, default=ParticipantRole.MEMBER)


class ConversationInput(serializers.Serializer):
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
    # With many=True DRF passes max_length on to the ListSerializer it builds; the stubs type
    # only the child's arguments.
    participants = InitialParticipantInput(  # type: ignore[call-arg]
        many=True, required=False, max_length=MAX_INITIAL_PARTICIPANTS
    )


class ConversationRenameInput(serializers.Serializer):
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH)


class MarkReadInput(serializers.Serializer):
    message_id = serializers.UUIDField(help_text="The newest message the caller has read.")


class ParticipantAddInput(InitialParticipantInput):
    pass


class ParticipantRoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=ParticipantRole.choices)


class MessageInput(serializers.Serializer):
    content = serializers.CharField(
        max_length=MAX_CONTENT_LENGTH, allow_blank=True, trim_whitespace=False
    )
    message_type = serializers.ChoiceField(
        choices=[MessageType.TEXT, MessageType.FILE],
        default=MessageType.TEXT,
        help_text="`system` messages are written by Atrium only.",
    )
    metadata = MetadataField(
        required=False,
        help_text=(
            '`{}` or `{"event_type": "<dotted.name>", "payload": {...}}`, at most '
            f"{METADATA_MAX_BYTES} bytes. A `file` message carries "
            f'`{{"event_type": "{FILE_EVENT}", "payload": {{"name": ..., "url": ...}}}}`.'
        ),
    )
    parent_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Replies to this message of the conversation."
    )

    def validate(self, attrs):
        errors = content_error(
            message_type=attrs.get("message_type", MessageType.TEXT),
            content=attrs["content"],
            metadata=attrs.get("metadata") or {},
        )
        if errors:
            raise serializers.ValidationError({name: [text] for name, text in errors.items()})
        return attrs


class MessageEditInput(serializers.Serializer):
    content = serializers.CharField(max_length=MAX_CONTENT_LENGTH, trim_whitespace=False)
    metadata = MetadataField(required=False)


class ReactionInput(serializers.Serializer):
    emoji = serializers.RegexField(
        r"^\S{1,32}$", max_length=32, help_text="One emoji (or short code), no spaces."
    )


class PageQuery(serializers.Serializer):
    cursor = serializers.CharField(required=False, help_text="The `next` cursor of a page.")
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE
    )


class MessageListQuery(PageQuery):
    before = serializers.UUIDField(
        required=False, help_text="Messages older than this one, newest first."
    )
    after = serializers.UUIDField(
        required=False, help_text="Messages newer than this one, oldest first."
    )
    since = serializers.DateTimeField(
        required=False,
        help_text=(
            "Messages sent, edited, deleted or reacted to after this time, by time of change "
            "(deleted ones as tombstones). Sync from the largest `changed_at` you hold."
        ),
    )

    def validate_since(self, value):
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts.
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            raise serializers.ValidationError("Out of range.") from exc

    def validate(self, attrs):
        given = [name for name in ("before", "after", "since") if attrs.get(name) is not None]
        if len(given) > 1:
            raise serializers.ValidationError(
                {given[1]: [f"Use one of before, after and since, not {' and '.join(given)}."]}
            )
        return attrs


class SearchQuery(PageQuery):
    q = serializers.CharField(
        max_length=200, help_text='Words, "a phrase", -excluded, or: web-search syntax.'
    )
    conversation = serializers.UUIDField(required=False, help_text="Only this conversation.")


# --- output ---------------------------------------------------------------------------------


class ReactionSummaryOutput(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    me = serializers.BooleanField(help_text="Whether the caller is among them.")


class MessageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    sender_id = serializers.UUIDField()
    parent_id = serializers.UUIDField(allow_null=True)
    message_type = serializers.ChoiceField(choices=MessageType.choices)
    content = serializers.CharField(allow_null=True, help_text="null once deleted.")
    metadata = serializers.JSONField(allow_null=True, help_text="null once deleted.")
    sent_at = TimestampField()
    edited_at = TimestampField(allow_null=True)
    deleted_at = TimestampField(allow_null=True)
    changed_at = TimestampField(help_text="Last time anything shown of it changed.")
    reactions = ReactionSummaryOutput(many=True)


class MessagePageOutput(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The following page; null at the end.")
    results = MessageOutput(many=True)


class ThreadOutput(MessagePageOutput):
    parent = MessageOutput(help_text="The message replied to (a tombstone if deleted).")
    results = MessageOutput(many=True, help_text="Its replies, oldest first.")


class ConversationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    created_at = TimestampField()
    last_activity_at = TimestampField(help_text="Time of the newest message, or the creation.")
    role = serializers.ChoiceField(choices=ParticipantRole.choices, help_text="The caller's.")
    joined_at = TimestampField()
    last_read_message_id = serializers.UUIDField(allow_null=True)
    last_read_at = TimestampField(allow_null=True)
    unread_count = serializers.IntegerField(
        help_text="Messages of others after the last read one, counted up to 100 (100+)."
    )


class ConversationPageOutput(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = ConversationOutput(many=True)


class ParticipantOutput(serializers.Serializer):
    user_id = serializers.UUIDField()
    display_name = serializers.CharField(source="user.profile.display_name", default=None)
    avatar_url = serializers.CharField(source="user.profile.avatar_url", default=None)
    role = serializers.ChoiceField(choices=ParticipantRole.choices)
    joined_at = TimestampField()
    last_read_message_id = serializers.UUIDField(allow_null=True)
    last_read_at = TimestampField(allow_null=True)


def participant_representation(participant: Participant, viewer: Any = None) -> Any:
    """A participant as the API answers it: the participants endpoints' body and the payload
    of participant.added and participant.role_changed (the same for every viewer)."""
    return represented(ParticipantOutput, participant)


class MessageEditOutput(serializers.Serializer):
    id = serializers.UUIDField()
    editor_id = serializers.UUIDField()
    previous_content = serializers.CharField()
    previous_metadata = serializers.JSONField(allow_null=True)
    edited_at = TimestampField()


class ReactionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    emoji = serializers.CharField()
    created_at = TimestampField()
