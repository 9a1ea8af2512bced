from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from tests.accounts.conftest import session_token_for
from tests.factories import StaffUserFactory, UserFactory

# Who may do what in billing: the default roles of accounts/roles.py.
ROLES = {
    "billing_manager": lambda: StaffUserFactory(roles=["billing_manager"]),
    "staff": lambda: StaffUserFactory(roles=["staff"]),
    "member": lambda: UserFactory(roles=["member"]),
}


def client_for(user) -> APIClient:
    """An API client signed in as ``user`` with a bearer session token."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(user)}")
    return client


@pytest.fixture(autouse=True)
def billing_documents(settings, tmp_path):
    """Each test stores its PDFs in a directory of its own, which it may read and spoil."""
    settings.STORAGES = {
        **settings.STORAGES,
        "billing_documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "billing-documents")},
        },
    }
    return tmp_path / "billing-documents"


@pytest.fixture
def as_role(synced_roles) -> Callable[[str], APIClient]:
    """``as_role("staff")``: a client signed in as a new user holding that default role;
    ``as_role("anonymous")`` sends no credentials."""

    def make(role: str) -> APIClient:
        return client_for(None if role == "anonymous" else ROLES[role]())

    return make


@pytest.fixture
def manager(synced_roles):
    return ROLES["billing_manager"]()


@pytest.fixture
def api(manager) -> APIClient:
    """Signed in as a billing manager."""
    return client_for(manager)
