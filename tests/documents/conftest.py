from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.context import SYSTEM
from documents import services
from tests.accounts.conftest import session_token_for
from tests.factories import DocumentShareFactory, UserFactory, UserProfileFactory


def member(name: str):
    """A signed-up person with the default ``member`` role and a profile."""
    person = UserFactory(email=f"{name}@example.com", roles=["member"])
    UserProfileFactory(user=person, display_name=name.title())
    return person


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(user)}")
    return client


def doc_url(document, suffix: str = "") -> str:
    return f"/api/v1/documents/{document.pk}{suffix}"


def if_match(version) -> dict[str, str]:
    return {"HTTP_IF_MATCH": f'"{version}"'}


@pytest.fixture
def owner(synced_roles):
    return member("olivia")


@pytest.fixture
def stranger(synced_roles):
    return member("sam")


@pytest.fixture
def document(owner):
    return services.document_create(
        actor=owner, title="Quarterly plan", content="Line one\nLine two\n", context=SYSTEM
    )


def share(document, user, level: str, *, expired: bool = False):
    expires_at = timezone.now() - timedelta(seconds=1) if expired else None
    return DocumentShareFactory(
        document=document, user=user, permission_level=level, expires_at=expires_at
    )
