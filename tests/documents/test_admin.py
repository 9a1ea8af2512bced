"""The document pages of the staff console: versions and shares to read, content that only
changes through a version, and the trash."""

import pytest

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
    services.document_update(user=owner, document_id=document.pk, expected_version=1, content="2")
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
    services.document_delete(user=owner, document_id=document.pk, expected_version=1)

    admin_client.post(
        admin_url(Document, "changelist") + "?deleted=deleted",
        {"action": "restore_selected", "_selected_action": [document.pk]},
    )

    assert Document.objects.filter(pk=document.pk).exists()
