from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import events
        from core.jobs import wake_on_events

        from .api.serializers import endpoint_representation
        from .tasks import dispatch

        # What the API answers GET with is what the events about an endpoint carry.
        events.register_representation("webhooks.webhookendpoint", endpoint_representation)

        # Each burst of committed events wakes the dispatcher (core's run_worker LISTENs).
        wake_on_events(dispatch)
