"""What sharing by email tells a member (docs/security.md, "What an address reveals"): whether
the address belongs to an active colleague, and nothing finer."""

import pytest

from core.context import SYSTEM
from documents import services
from tests.factories import UserFactory

from .conftest import client_for, member

pytestmark = pytest.mark.django_db


def _share(api, document, email):
    response = api.post(
        f"/api/v1/documents/{document.pk}/shares",
        {"email": email, "permission_level": "viewer"},
        format="json",
    )
    body = response.json()
    body.pop("instance", None)
    return response.status_code, body


def test_an_unknown_address_and_a_deactivated_account_get_the_same_refusal(synced_roles):
    owner = member("olivia")
    document = services.document_create(actor=owner, title="Plan", content="", context=SYSTEM)
    UserFactory(email="gone@example.com", is_active=False)
    api = client_for(owner)

    unknown = _share(api, document, "nobody@example.com")
    deactivated = _share(api, document, "gone@example.com")

    assert unknown == deactivated
    assert unknown[0] == 400
    assert [error["field"] for error in unknown[1]["errors"]] == ["email"]


def test_an_active_colleagues_address_is_shared_with(synced_roles):
    owner, colleague = member("olivia"), member("sam")
    document = services.document_create(actor=owner, title="Plan", content="", context=SYSTEM)

    status, body = _share(client_for(owner), document, colleague.email.upper())

    assert status == 201
    assert body["user"]["id"] == str(colleague.pk)
