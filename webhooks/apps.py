from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.jobs import wake_on_events

        from .tasks import dispatch

        # Each burst of committed events wakes the dispatcher (core's run_worker LISTENs).
        wake_on_events(dispatch)
