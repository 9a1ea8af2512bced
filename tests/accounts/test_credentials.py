"""Session tokens and API keys: digests at rest, expiry, idleness, revocation, scopes."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.credentials import digest
from accounts.models import ApiKey, ApiSession, Role
from accounts.services.roles import user_set_roles
from core.context import SYSTEM
from tests.accounts.conftest import sign_in
from tests.factories import ApiKeyFactory, ApiSessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def _with(api, header: str):
    api.credentials(HTTP_AUTHORIZATION=header)
    return api


def _create_key(api, **payload) -> dict:
    response = api.post("/api/v1/me/api-keys", {"name": "ci", **payload}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _database_text() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT token, metadata::text FROM sessions")
        sessions = cursor.fetchall()
        cursor.execute("SELECT key, prefix FROM api_keys")
        keys = cursor.fetchall()
    return repr(sessions + keys)


def test_the_database_never_holds_a_plaintext_token_or_key(api, user):
    token = sign_in(api, user)
    key = _create_key(api)["key"]

    stored = _database_text()
    assert token not in stored
    assert key not in stored
    assert ApiSession.objects.filter(token=digest(token)).exists()
    assert ApiKey.objects.filter(key=digest(key)).exists()


def test_tokens_carry_at_least_128_random_bits(api, user):
    token = sign_in(api, user)

    assert len(token) >= 22  # 128 bits in URL-safe base64


def test_an_expired_session_is_refused(api, user):
    sign_in(api, user)
    ApiSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert api.get("/api/v1/me").status_code == 401


def test_an_idle_session_is_refused(api, user, settings):
    sign_in(api, user)
    ApiSession.objects.update(
        last_accessed_at=timezone.now() - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 1)
    )

    assert api.get("/api/v1/me").status_code == 401


def test_a_revoked_session_is_refused(api, user):
    other_client = api.__class__()
    other_token = sign_in(other_client, user)
    sign_in(api, user)
    other_id = ApiSession.objects.get(token=digest(other_token)).pk

    assert api.delete(f"/api/v1/me/sessions/{other_id}").status_code == 204
    assert other_client.get("/api/v1/me").status_code == 401


def test_a_disabled_users_session_is_refused(api, user):
    sign_in(api, user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)

    assert api.get("/api/v1/me").status_code == 401


def test_sessions_list_marks_the_current_one(api, user):
    sign_in(api.__class__(), user)
    token = sign_in(api, user)

    sessions = api.get("/api/v1/me/sessions").json()["results"]

    current = [s for s in sessions if s["current"]]
    assert len(sessions) == 2
    assert [s["id"] for s in current] == [str(ApiSession.objects.get(token=digest(token)).pk)]
    assert current[0]["ip"] == "127.0.0.1"


def test_revoke_others_keeps_only_the_current_session(api, user):
    for _ in range(3):
        sign_in(api.__class__(), user)
    sign_in(api, user)

    response = api.post("/api/v1/me/sessions/revoke-others")

    assert response.json() == {"revoked": 3}
    assert [s["current"] for s in api.get("/api/v1/me/sessions").json()["results"]] == [True]


def test_someone_elses_session_is_not_found(api, user):
    sign_in(api, user)
    foreign = ApiSessionFactory()

    assert api.delete(f"/api/v1/me/sessions/{foreign.pk}").status_code == 404
    assert ApiSession.objects.filter(pk=foreign.pk).exists()


def test_last_accessed_is_written_at_most_once_a_minute(api, user):
    sign_in(api, user)
    session = ApiSession.objects.get()
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    ApiSession.objects.update(last_accessed_at=two_minutes_ago)

    api.get("/api/v1/me")
    touched = ApiSession.objects.get(pk=session.pk).last_accessed_at
    api.get("/api/v1/me")

    assert touched > two_minutes_ago
    assert ApiSession.objects.get(pk=session.pk).last_accessed_at == touched


def test_purge_expired_deletes_dead_sessions_only(user):
    live = ApiSessionFactory(user=user)
    ApiSessionFactory(user=user, expires_at=timezone.now() - timedelta(minutes=1))

    call_command("purge_expired", verbosity=0)

    assert list(ApiSession.objects.values_list("pk", flat=True)) == [live.pk]


def test_an_api_key_authenticates_and_records_its_use(api, user):
    sign_in(api, user)
    key = _create_key(api)["key"]
    client = _with(api.__class__(), f"Api-Key {key}")

    assert client.get("/api/v1/me").json()["email"] == user.email
    assert ApiKey.objects.get().last_used_at is not None


def test_an_api_key_is_shown_once_with_its_prefix(signed_in):
    created = _create_key(signed_in)
    listed = signed_in.get("/api/v1/me/api-keys").json()["results"]

    assert created["key"].startswith("atr_")
    assert created["prefix"] == created["key"][:12]
    assert listed[0]["prefix"] == created["prefix"]
    assert "key" not in listed[0]


def test_a_revoked_key_is_refused(signed_in):
    created = _create_key(signed_in)

    assert signed_in.delete(f"/api/v1/me/api-keys/{created['id']}").status_code == 204
    assert (
        _with(signed_in.__class__(), f"Api-Key {created['key']}").get("/api/v1/me").status_code
        == 401
    )


def test_an_expired_key_is_refused(signed_in):
    created = _create_key(signed_in)
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert (
        _with(signed_in.__class__(), f"Api-Key {created['key']}").get("/api/v1/me").status_code
        == 401
    )


def test_a_key_cannot_expire_in_the_past(signed_in):
    response = signed_in.post(
        "/api/v1/me/api-keys",
        {"name": "old", "expires_at": (timezone.now() - timedelta(days=1)).isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["expires_at"]


def test_someone_elses_key_is_not_found(signed_in):
    foreign = ApiKeyFactory()

    assert signed_in.delete(f"/api/v1/me/api-keys/{foreign.pk}").status_code == 404


def test_an_api_key_cannot_mint_keys_or_change_the_password(signed_in):
    created = _create_key(signed_in)
    client = _with(signed_in.__class__(), f"Api-Key {created['key']}")

    assert client.post("/api/v1/me/api-keys", {"name": "wider"}, format="json").status_code == 403
    assert (
        client.post(
            "/api/v1/me/password", {"current_password": "x", "new_password": "y"}, format="json"
        ).status_code
        == 403
    )


def test_scopes_cannot_exceed_the_owners_permissions(synced_roles, api):
    member = UserFactory(roles=["member"])
    sign_in(api, member)

    response = api.post(
        "/api/v1/me/api-keys",
        {"name": "greedy", "scopes": ["accounts.view_role"]},
        format="json",
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["scopes"]


def test_a_scoped_key_is_held_to_its_scopes(synced_roles, api):
    admin = UserFactory(roles=["admin"])
    sign_in(api, admin)
    key = _create_key(api, scopes=["accounts.view_role"])["key"]
    client = _with(api.__class__(), f"Api-Key {key}")

    assert client.get("/api/v1/roles").status_code == 200
    assert client.get("/api/v1/permissions").status_code == 403


def test_a_scoped_key_loses_what_its_owner_loses(synced_roles, api):
    admin = UserFactory(roles=["admin"])
    sign_in(api, admin)
    key = _create_key(api, scopes=["accounts.view_role"])["key"]
    UserFactory(roles=["admin"])  # someone must keep role management
    user_set_roles(user=admin, roles=[Role.objects.get(name="member")], actor=None, context=SYSTEM)

    assert _with(api.__class__(), f"Api-Key {key}").get("/api/v1/roles").status_code == 403
