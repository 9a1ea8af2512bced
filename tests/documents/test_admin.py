"""The document pages of the staff console: versions and shares to read, content that only
changes through a version, and the trash."""

from contextlib import contextmanager

import pytest

from core import events
from core.context import SYSTEM
from documents import services
from documents.models import Document, DocumentVersion
from tests.factories import StaffUserFactory
from tests.test_admin import admin_url, form_data

from .conftest import share

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["admin"]))
    return client


def test_the_document_page_lists_versions_and_shares_read_only(
    admin_client, owner, document, stranger
):
    services.document_update(
        actor=owner, document_id=document.pk, expected_version=1, content="2", context=SYSTEM
    )
    share(document, stranger, "editor")

    page = admin_client.get(admin_url(Document, "change", document.pk))

    inlines = {f.formset.model: f for f in page.context["inline_admin_formsets"]}
    assert inlines[DocumentVersion].formset.queryset.count() == 2
    assert not inlines[DocumentVersion].has_change_permission
    assert stranger.email in page.content.decode()


def test_staff_cannot_change_content_without_a_version(admin_client, document):
    page = admin_client.get(admin_url(Document, "change", document.pk))
    data = {**form_data(page), "title": "Rewritten by staff", "content": "Rewritten"}

    admin_client.post(admin_url(Document, "change", document.pk), data)

    document.refresh_from_db()
    assert (document.title, document.version) == ("Quarterly plan", 1)
    assert DocumentVersion.objects.filter(document=document).count() == 1


def test_the_admin_restores_a_deleted_document(admin_client, owner, document):
    services.document_delete(
        actor=owner, document_id=document.pk, expected_version=1, context=SYSTEM
    )

    admin_client.post(
        admin_url(Document, "changelist") + "?deleted=deleted",
        {"action": "restore_selected", "_selected_action": [document.pk]},
    )

    assert Document.objects.filter(pk=document.pk).exists()


@contextmanager
def announced(capture_on_commit_callbacks):
    """What the documents service announces while the pages are served, heard on commit."""
    heard = []
    events.receiver(heard.append)
    try:
        with capture_on_commit_callbacks(execute=True):
            yield heard
    finally:
        events.disconnect(heard.append)


def test_the_delete_page_moves_to_the_trash_through_the_service(
    admin_client, document, django_capture_on_commit_callbacks
):
    with announced(django_capture_on_commit_callbacks) as heard:
        response = admin_client.post(admin_url(Document, "delete", document.pk), {"post": "yes"})

    assert response.status_code == 302
    assert Document.all_objects.get(pk=document.pk).is_deleted
    assert [(a.type, a.audience) for a in heard] == [
        ("document.deleted", events.Audience.document(document.pk))
    ]


def test_deleting_and_restoring_selected_documents_announce_each(
    admin_client, owner, document, django_capture_on_commit_callbacks
):
    other = services.document_create(actor=owner, title="Other", content="", context=SYSTEM)
    selected = [document.pk, other.pk]

    with announced(django_capture_on_commit_callbacks) as heard:
        admin_client.post(
            admin_url(Document, "changelist"),
            {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
        )
        admin_client.post(
            admin_url(Document, "changelist") + "?deleted=deleted",
            {"action": "restore_selected", "_selected_action": selected},
        )

    assert Document.objects.filter(pk__in=selected).count() == 2
    assert sorted(a.type for a in heard) == ["document.deleted"] * 2 + ["document.restored"] * 2
