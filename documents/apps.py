from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import events

        from .api.serializers import document_representation, share_representation
        from .event_audience import documents_of

        # What the API answers GET with is what the events about the object carry.
        events.register_representation("documents.document", document_representation)
        events.register_representation("documents.documentshare", share_representation)

        events.register_audience(
            "document",
            documents_of,
            changed_by={
                "share.granted": events.Refresh.NAMED,
                "share.changed": events.Refresh.NAMED,
                "share.revoked": events.Refresh.NAMED,
                "document.deleted": events.Refresh.HOLDERS,
                "document.restored": events.Refresh.EVERYONE,
            },
        )
