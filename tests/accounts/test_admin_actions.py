"""The account actions of the staff console call the accounts services and are audited."""

import pytest
from django.urls import reverse

from accounts.models import ApiKey, ApiSession, User
from core.models import AuditAction, AuditEvent
from tests.accounts.conftest import sign_in
from tests.factories import (
    DEFAULT_PASSWORD,
    ApiKeyFactory,
    ApiSessionFactory,
    StaffUserFactory,
    UserFactory,
)
from tests.test_admin import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["admin"]))
    return client


def _act(client, model: str, action: str, *objects):
    return client.post(
        reverse(f"admin:accounts_{model}_changelist"),
        {"action": action, "_selected_action": [str(obj.pk) for obj in objects]},
    )


def test_lock_blocks_sign_in_and_ends_sessions(admin_client, api):
    member = UserFactory()
    sign_in(api, member)

    assert _act(admin_client, "user", "lock", member).status_code == 302

    assert api.get("/api/v1/me").status_code == 401
    api.credentials()
    relogin = api.post(
        "/api/v1/auth/login",
        {"email": member.email, "password": DEFAULT_PASSWORD},
        format="json",
    )
    assert relogin.status_code == 423
    assert AuditEvent.objects.filter(action=AuditAction.ACCOUNT_LOCKED).exists()


def test_unlock_lets_a_locked_user_sign_in_again(admin_client, api):
    member = UserFactory()
    _act(admin_client, "user", "lock", member)

    _act(admin_client, "user", "unlock", member)

    sign_in(api, member)
    assert AuditEvent.objects.filter(
        action=AuditAction.ACCOUNT_UNLOCKED, target_id=str(member.pk)
    ).exists()


def test_revoke_sessions_and_keys_of_a_user(admin_client):
    member = UserFactory()
    ApiSessionFactory.create_batch(2, user=member)
    ApiKeyFactory(user=member)

    _act(admin_client, "user", "revoke_sessions", member)
    _act(admin_client, "user", "revoke_api_keys", member)

    assert not ApiSession.objects.filter(user=member).exists()
    assert not ApiKey.objects.filter(user=member).exists()
    assert AuditEvent.objects.filter(action=AuditAction.API_KEY_REVOKED).count() == 1


def test_revoke_selected_sessions_and_keys_from_their_lists(admin_client):
    session, other = ApiSessionFactory(), ApiSessionFactory()
    api_key = ApiKeyFactory()

    _act(admin_client, "apisession", "revoke_selected", session)
    _act(admin_client, "apikey", "revoke_selected", api_key)

    assert list(ApiSession.objects.values_list("pk", flat=True)) == [other.pk]
    assert not ApiKey.objects.exists()


def test_staff_who_may_only_view_cannot_lock(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["billing_manager"]))
    member = UserFactory()

    _act(client, "user", "lock", member)

    assert User.objects.get(pk=member.pk).locked_until is None


def test_locking_a_staff_account_needs_the_right_to_grant_access(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["staff"]))
    colleague = StaffUserFactory()

    _act(client, "user", "lock", colleague)

    assert User.objects.get(pk=colleague.pk).locked_until is None


def test_an_admin_sign_in_is_audited(client, synced_roles):
    staff = StaffUserFactory(roles=["admin"])

    response = client.post(
        "/admin/login/?next=/admin/", {"username": staff.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_SUCCEEDED, actor=staff).exists()


def test_the_add_page_makes_the_account_through_the_service(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "new.person@example.com", "usable_password": "false"},
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert not user.has_usable_password()
    assert user.profile.display_name == "new.person"
    assert AuditEvent.objects.filter(action=AuditAction.USER_CREATED, target_id=str(user.pk))


def test_status_flags_on_the_user_page_are_switched_by_the_service(admin_client):
    member = UserFactory(verified=False)
    url = reverse("admin:accounts_user_change", args=[member.pk])
    data = form_data(admin_client.get(url))
    data["verified"] = True

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert User.objects.get(pk=member.pk).verified
    event = AuditEvent.objects.get(action=AuditAction.USER_UPDATED, target_id=str(member.pk))
    assert (event.before, event.after) == ({"verified": False}, {"verified": True})
