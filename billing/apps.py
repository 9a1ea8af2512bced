from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import events

        from . import checks  # noqa: F401 (registers the system checks)
        from .api import serializers as s

        # What the API answers GET with is what the events about the object carry.
        events.register_representation("billing.invoice", s.invoice_representation)
        events.register_representation("billing.payment", s.payment_representation)
        events.register_representation("billing.creditnote", s.credit_note_representation)
        events.register_representation("billing.invoicesend", s.invoice_send_representation)
