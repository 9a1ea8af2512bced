"""Rules the documents services hold themselves, whoever calls them: the API's serializers
give the same answers first, but a command, the admin or the demo gets no serializer."""

import pytest

from core.context import SYSTEM
from core.exceptions import ValidationFailed
from documents import services
from documents.models import Document, DocumentShare

pytestmark = pytest.mark.django_db


def _fields(error: ValidationFailed) -> set[str]:
    return set(error.fields)


@pytest.mark.parametrize("title", ["", "   ", "x" * 256])
def test_a_document_needs_a_title_that_fits(owner, title):
    with pytest.raises(ValidationFailed) as refused:
        services.document_create(actor=owner, title=title, content="", context=SYSTEM)

    assert _fields(refused.value) == {"title"}
    assert not Document.objects.exists()


def test_an_edit_cannot_blank_the_title(owner, document):
    with pytest.raises(ValidationFailed) as refused:
        services.document_update(
            actor=owner, document_id=document.pk, expected_version=1, title="", context=SYSTEM
        )

    assert _fields(refused.value) == {"title"}


def test_a_restore_note_has_a_limit(owner, document):
    with pytest.raises(ValidationFailed) as refused:
        services.version_restore(
            actor=owner,
            document_id=document.pk,
            number=1,
            expected_version=1,
            note="x" * 1001,
            context=SYSTEM,
        )

    assert _fields(refused.value) == {"note"}


@pytest.mark.parametrize("named", [{}, {"user_id": "both", "email": "sam@example.com"}])
def test_a_grant_names_its_user_exactly_once(owner, document, stranger, named):
    named = {key: stranger.pk if value == "both" else value for key, value in named.items()}

    with pytest.raises(ValidationFailed) as refused:
        services.share_grant(
            actor=owner,
            document_id=document.pk,
            permission_level="viewer",
            context=SYSTEM,
            **named,
        )

    assert _fields(refused.value) == {"user_id"}
    assert not DocumentShare.objects.exists()


def test_a_share_level_must_be_one_of_the_levels(owner, document, stranger):
    with pytest.raises(ValidationFailed) as refused:
        services.share_grant(
            actor=owner,
            document_id=document.pk,
            user_id=stranger.pk,
            permission_level="boss",
            context=SYSTEM,
        )

    assert _fields(refused.value) == {"permission_level"}
    assert not DocumentShare.objects.exists()
