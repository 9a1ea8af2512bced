from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import events

        from . import selectors
        from .api.serializers import participant_representation
        from .event_audience import conversations_of

        # What the API answers GET with is what the events about the object carry.
        events.register_representation("chat.message", selectors.message_representation)
        events.register_representation("chat.conversation", selectors.conversation_representation)
        events.register_representation("chat.participant", participant_representation)

        events.register_audience(
            "conversation",
            conversations_of,
            changed_by={
                "participant.added": events.Refresh.NAMED,
                "participant.removed": events.Refresh.NAMED,
                "participant.left": events.Refresh.NAMED,
                "conversation.deleted": events.Refresh.HOLDERS,
                "conversation.restored": events.Refresh.EVERYONE,
            },
        )
