"""Roles, permissions and the user directory through the API: who may see and change what."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from core.models import AuditAction, AuditEvent
from tests.accounts.conftest import session_token_for
from tests.factories import (
    UserFactory,
    UserProfileFactory,
)

pytestmark = pytest.mark.django_db


def _as(api, user):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(user)}")
    return api


def test_the_directory_shows_display_names_and_avatars_only(synced_roles, api):
    member = UserFactory(roles=["member"])
    UserProfileFactory(user=member, display_name="Ana", bio="private-ish")

    entries = _as(api, member).get("/api/v1/users").json()["results"]

    assert entries == [{"id": str(member.pk), "display_name": "Ana", "avatar_url": None}]


def test_the_directory_searches_by_display_name(synced_roles, api):
    member = UserFactory(roles=["member"])
    UserProfileFactory(user=member, display_name="Ana")
    UserProfileFactory(display_name="Ben")

    entries = _as(api, member).get("/api/v1/users", {"search": "be"}).json()["results"]

    assert [entry["display_name"] for entry in entries] == ["Ben"]


def test_assigning_roles_needs_the_permission(synced_roles, api):
    member, target = UserFactory(roles=["member"]), UserFactory()

    response = _as(api, member).put(
        f"/api/v1/users/{target.pk}/roles", {"roles": ["admin"]}, format="json"
    )

    assert response.status_code == 403
    assert not target.roles.exists()


def test_an_admin_assigns_roles_and_the_change_is_audited(synced_roles, api):
    admin, target = UserFactory(roles=["admin"]), UserFactory()

    response = _as(api, admin).put(
        f"/api/v1/users/{target.pk}/roles", {"roles": ["staff", "billing_manager"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["roles"] == ["billing_manager", "staff"]
    assert type(target).objects.get(pk=target.pk).has_perm("billing.view_invoice")
    assert AuditEvent.objects.filter(action=AuditAction.ROLES_CHANGED, actor=admin).exists()


def test_an_unknown_role_is_named_in_the_error(synced_roles, api):
    admin, target = UserFactory(roles=["admin"]), UserFactory()

    response = _as(api, admin).put(
        f"/api/v1/users/{target.pk}/roles", {"roles": ["wizard"]}, format="json"
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["roles"]


def test_editing_a_roles_permissions(synced_roles, api):
    admin = UserFactory(roles=["admin"])

    response = _as(api, admin).put(
        f"/api/v1/roles/{Role.objects.get(name='member').pk}/permissions",
        {"permissions": ["chat.view_conversation", "billing.view_invoice"]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["permissions"] == ["billing.view_invoice", "chat.view_conversation"]


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_an_authenticated_request_costs_one_query(user, api):
    client = _as(api, user)
    client.get("/api/v1/me")  # the first use of the session records itself once

    assert _queries(client, "/api/v1/me") == 1


def test_an_api_key_request_costs_one_query(signed_in):
    key = signed_in.post("/api/v1/me/api-keys", {"name": "k"}, format="json").json()["key"]
    client = signed_in.__class__()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    client.get("/api/v1/me")

    assert _queries(client, "/api/v1/me") == 1
