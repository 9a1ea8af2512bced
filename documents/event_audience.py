"""Who reads the events of a document: whoever may open it now, its owner or a sharee whose
share has not expired, while it is not deleted.

Registered with core.events from DocumentsConfig.ready(). The share rule is the selectors'
(``readable_ids``, which compares ``expires_at`` with the database's clock), so an expired share
stops showing the document's events from the second it expires."""

from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast

from .models import Document
from .selectors import readable_ids

VIEW_DOCUMENT = "documents.view_document"


def documents_of(user, may) -> QuerySet | None:
    """The ids (as text, the events' ``audience_key``) of the live documents ``user`` may
    read; a subquery of the events page."""
    if not may(VIEW_DOCUMENT):
        return None
    return (
        Document.objects.filter(pk__in=readable_ids(user=user))
        .order_by()
        .values(key=Cast("id", CharField()))
    )
