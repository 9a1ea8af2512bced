"""Sharing by email is counted per member (the "share_by_email" throttle scope), so nobody can
probe many addresses quickly (docs/security.md, "What an address reveals")."""

import pytest

from core.context import SYSTEM
from documents import services
from tests.core.test_api_platform import problem_of, throttle_rates

from .conftest import client_for, member

pytestmark = pytest.mark.django_db


def _share(api, document, **who):
    return api.post(
        f"/api/v1/documents/{document.pk}/shares",
        {**who, "permission_level": "viewer"},
        format="json",
    )


def test_a_member_probing_addresses_is_stopped_with_retry_after(synced_roles, settings):
    throttle_rates(settings, **{"share_by_email.caller": "2/min"})
    owner, colleague, other = member("olivia"), member("sam"), member("omar")
    document = services.document_create(actor=owner, title="Plan", content="", context=SYSTEM)
    api = client_for(owner)

    assert _share(api, document, email="nobody@example.com").status_code == 400
    assert _share(api, document, email=colleague.email).status_code == 201
    refused = _share(api, document, email="someone@example.com")

    assert refused.status_code == 429
    assert problem_of(refused)["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    # Naming a person by id reveals no address, and another member has a count of their own.
    assert _share(api, document, user_id=str(other.pk)).status_code == 201
    theirs = services.document_create(actor=other, title="Notes", content="", context=SYSTEM)
    assert _share(client_for(other), theirs, email=colleague.email).status_code == 201
