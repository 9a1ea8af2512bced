"""Signing up, in and out through the HTTP API, with the real database."""

import pytest
from django.core import mail

from accounts.models import Role, User
from core.models import AuditAction, AuditEvent
from tests.accounts.conftest import last_email_token, sign_in
from tests.factories import DEFAULT_PASSWORD, UserFactory, UserRoleFactory
from tests.jobs import run_queued_jobs

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a much better passphrase"


def _problem_fields(response) -> set[str]:
    return {error["field"] for error in response.json().get("errors", [])}


def test_register_verify_login_me_logout(api, synced_roles, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        registered = api.post(
            "/api/v1/auth/register",
            {"email": "ben@example.com", "password": NEW_PASSWORD, "display_name": "Ben"},
            format="json",
        )
    assert registered.status_code == 202
    user = User.objects.get(email="ben@example.com")
    assert (user.verified, user.profile.display_name) == (False, "Ben")
    assert user.has_perm("chat.add_conversation")  # new accounts are members

    unverified = api.post(
        "/api/v1/auth/login", {"email": "ben@example.com", "password": NEW_PASSWORD}, format="json"
    )
    assert unverified.status_code == 403

    token = last_email_token(r"\n([\w:-]{40,})\n")
    verified = api.post("/api/v1/auth/verify-email", {"token": token}, format="json")
    assert verified.status_code == 200
    assert verified.json()["verified"] is True

    sign_in(api, user, NEW_PASSWORD)
    me = api.get("/api/v1/me")
    assert me.status_code == 200
    assert (me.json()["email"], me.json()["profile"]["display_name"]) == ("ben@example.com", "Ben")

    assert api.post("/api/v1/auth/logout").status_code == 204
    assert api.get("/api/v1/me").status_code == 401


def test_registering_a_taken_address_answers_the_same_and_changes_nothing(
    api, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/auth/register",
            {"email": "ANA@example.com", "password": NEW_PASSWORD, "display_name": "Impostor"},
            format="json",
        )

    assert response.status_code == 202
    assert User.objects.filter(email__iexact="ana@example.com").count() == 1
    run_queued_jobs()
    assert "tried to sign up" in mail.outbox[-1].body


def test_register_names_each_invalid_field(api):
    response = api.post(
        "/api/v1/auth/register",
        {"email": "not-an-email", "password": "123", "display_name": ""},
        format="json",
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert _problem_fields(response) == {"email", "password", "display_name"}


def test_a_weak_password_is_refused_with_the_validators_reasons(api):
    response = api.post(
        "/api/v1/auth/register",
        {"email": "cy@example.com", "password": "password", "display_name": "Cy"},
        format="json",
    )

    assert response.status_code == 400
    assert _problem_fields(response) == {"password"}
    assert not User.objects.filter(email="cy@example.com").exists()


def test_a_tampered_verification_token_is_refused(api):
    response = api.post("/api/v1/auth/verify-email", {"token": "forged:token"}, format="json")

    assert response.status_code == 400
    assert _problem_fields(response) == {"token"}


def test_resending_verification_mails_unverified_addresses_only(api, user):
    unverified = UserFactory(verified=False)

    for address in (user.email, unverified.email, "nobody@example.com"):
        response = api.post("/api/v1/auth/verify-email/resend", {"email": address}, format="json")
        assert response.status_code == 202

    run_queued_jobs()
    assert [message.to for message in mail.outbox] == [[unverified.email]]


def test_unknown_email_and_wrong_password_get_the_same_answer(api, user):
    wrong_password = api.post(
        "/api/v1/auth/login", {"email": user.email, "password": "nope"}, format="json"
    )
    unknown_email = api.post(
        "/api/v1/auth/login", {"email": "ghost@example.com", "password": "nope"}, format="json"
    )

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()


def test_login_is_audited_with_ip_and_user_agent(api, user):
    api.post(
        "/api/v1/auth/login",
        {"email": user.email, "password": "nope"},
        format="json",
        HTTP_USER_AGENT="pytest-agent",
    )
    sign_in(api, user)

    failed = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert (failed.target_id, failed.user_agent, failed.ip_address) == (
        str(user.pk),
        "pytest-agent",
        "127.0.0.1",
    )
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_SUCCEEDED, actor=user).exists()
    assert AuditEvent.objects.filter(action=AuditAction.SESSION_CREATED, actor=user).exists()


def test_me_requires_credentials(api):
    response = api.get("/api/v1/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_malformed_authorization_header_is_refused(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer two words")

    assert api.get("/api/v1/me").status_code == 401


@pytest.fixture
def member(user, synced_roles):
    """``user`` with the member role every signed-up person gets."""
    UserRoleFactory(user=user, role=Role.objects.get(name="member"))
    return user


def test_profile_update(member, signed_in):
    response = signed_in.patch(
        "/api/v1/me/profile", {"display_name": "Ana S.", "bio": "Hi"}, format="json"
    )

    assert response.status_code == 200
    assert signed_in.get("/api/v1/me").json()["profile"]["display_name"] == "Ana S."


def test_profile_refuses_a_blank_display_name(member, signed_in):
    response = signed_in.patch("/api/v1/me/profile", {"display_name": ""}, format="json")

    assert response.status_code == 400
    assert _problem_fields(response) == {"display_name"}


def test_password_change_ends_other_sessions_but_not_this_one(api, user):
    other_device = sign_in(api.__class__(), user)
    sign_in(api, user)

    response = api.post(
        "/api/v1/me/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 204
    assert api.get("/api/v1/me").status_code == 200
    other = api.__class__()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_device}")
    assert other.get("/api/v1/me").status_code == 401
    assert AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()


def test_password_change_needs_the_current_password(signed_in):
    response = signed_in.post(
        "/api/v1/me/password",
        {"current_password": "wrong", "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 400
    assert _problem_fields(response) == {"current_password"}


def test_password_reset_is_single_use_and_ends_every_session(api, user):
    old_token = sign_in(api.__class__(), user)
    assert (
        api.post("/api/v1/auth/password-reset", {"email": user.email}, format="json").status_code
        == 202
    )
    uid = last_email_token(r'uid "([^"]+)"')
    token = last_email_token(r'token "([^"]+)"')
    payload = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}

    first = api.post("/api/v1/auth/password-reset/confirm", payload, format="json")
    second = api.post(
        "/api/v1/auth/password-reset/confirm",
        {**payload, "new_password": "yet another passphrase"},
        format="json",
    )

    assert first.status_code == 204
    assert second.status_code == 400
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    stale = api.__class__()
    stale.credentials(HTTP_AUTHORIZATION=f"Bearer {old_token}")
    assert stale.get("/api/v1/me").status_code == 401


def test_password_reset_for_an_unknown_address_answers_the_same_and_sends_nothing(api):
    response = api.post(
        "/api/v1/auth/password-reset", {"email": "ghost@example.com"}, format="json"
    )

    assert response.status_code == 202
    assert run_queued_jobs() == 0
    assert mail.outbox == []
