"""Account safety: role management always keeps a holder, a password reset takes API keys
with it, answers carrying secrets are never cached, and the emails' links work."""

import re
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from django.core import mail
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role, User
from accounts.services import roles, users
from core.context import SYSTEM
from core.exceptions import Conflict
from core.models import Event
from tests.accounts.conftest import last_email_token, session_token_for, sign_in
from tests.factories import DEFAULT_PASSWORD, ApiKeyFactory, UserFactory
from tests.jobs import run_queued_jobs

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase"


def _as(api, user):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(user)}")
    return api


def _role(name: str) -> Role:
    return Role.objects.get(name=name)


# --- The last holder of role management ---------------------------------------------------


def test_the_admin_role_cannot_lose_role_management_while_it_alone_grants_it(synced_roles, api):
    admin = UserFactory(roles=["admin"])
    admin_role = _role("admin")
    kept = sorted(admin_role.permissions.values_list("name", flat=True))

    response = _as(api, admin).put(
        f"/api/v1/roles/{admin_role.pk}/permissions",
        {"permissions": ["accounts.view_role"]},
        format="json",
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "last_role_manager"
    assert sorted(admin_role.permissions.values_list("name", flat=True)) == kept
    assert User.objects.get(pk=admin.pk).has_perm(roles.ROLE_MANAGEMENT)


def test_the_last_admin_cannot_take_the_admin_role_from_themselves(synced_roles, api):
    admin = UserFactory(roles=["admin"])

    response = _as(api, admin).put(
        f"/api/v1/users/{admin.pk}/roles", {"roles": ["staff"]}, format="json"
    )

    assert response.status_code == 409
    assert list(admin.roles.values_list("name", flat=True)) == ["admin"]


def test_with_another_admin_the_role_can_go(synced_roles, api):
    admin, other = UserFactory(roles=["admin"]), UserFactory(roles=["admin"])

    response = _as(api, admin).put(
        f"/api/v1/users/{other.pk}/roles", {"roles": ["staff"]}, format="json"
    )

    assert response.status_code == 200
    assert list(other.roles.values_list("name", flat=True)) == ["staff"]


def test_deactivating_the_last_admin_is_refused(synced_roles):
    admin = UserFactory(roles=["admin"])

    with pytest.raises(Conflict):
        users.user_set_status(user=admin, actor=None, context=SYSTEM, is_active=False)

    assert User.objects.get(pk=admin.pk).is_active


def test_an_active_superuser_also_holds_role_management(synced_roles):
    admin = UserFactory(roles=["admin"])
    UserFactory(is_superuser=True)

    users.user_set_status(user=admin, actor=None, context=SYSTEM, is_active=False)

    assert not User.objects.get(pk=admin.pk).is_active


def test_where_nobody_held_it_changes_are_not_refused(synced_roles):
    member = UserFactory(roles=["member"])

    roles.user_set_roles(user=member, roles=[_role("staff")], actor=None, context=SYSTEM)

    assert list(member.roles.values_list("name", flat=True)) == ["staff"]


@pytest.mark.django_db(transaction=True)
def test_two_admins_removing_each_other_at_once_leave_one(synced_roles):
    first, second = UserFactory(roles=["admin"]), UserFactory(roles=["admin"])
    staff = _role("staff")
    both_ready = Barrier(2)

    def demote(user):
        both_ready.wait()
        try:
            roles.user_set_roles(user=user, roles=[staff], actor=None, context=SYSTEM)
            return "demoted"
        except Conflict:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(demote, (first, second)))

    assert results == ["demoted", "refused"]
    assert User.objects.filter(roles__name="admin").count() == 1


# --- Passwords and API keys ---------------------------------------------------------------


def _reset_link_params() -> dict[str, str]:
    run_queued_jobs()  # the email is a job's
    link = re.search(r"^(https?://\S+)$", mail.outbox[-1].body, re.MULTILINE)
    assert link, mail.outbox[-1].body
    return {name: values[0] for name, values in parse_qs(urlsplit(link.group(1)).query).items()}


def test_the_reset_emails_link_is_plain_text_and_works(api, user):
    api.post("/api/v1/auth/password-reset", {"email": user.email}, format="json")

    params = _reset_link_params()
    body = mail.outbox[-1].body

    assert "&amp;" not in body
    assert params == {
        "uid": last_email_token(r'uid "([^"]+)"'),
        "token": last_email_token(r'token "([^"]+)"'),
    }
    response = api.post(
        "/api/v1/auth/password-reset/confirm",
        {**params, "new_password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 204, response.content


def test_a_password_reset_revokes_every_api_key_and_session(api, user):
    ApiKeyFactory.create_batch(2, user=user)
    token = sign_in(APIClient(), user)
    api.post("/api/v1/auth/password-reset", {"email": user.email}, format="json")

    response = api.post(
        "/api/v1/auth/password-reset/confirm",
        {**_reset_link_params(), "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 204
    assert not ApiKey.objects.filter(user=user).exists()
    stale = APIClient()
    stale.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert stale.get("/api/v1/me").status_code == 401


def test_a_password_change_keeps_api_keys_and_says_so(signed_in, user):
    ApiKeyFactory.create_batch(2, user=user)

    response = signed_in.post(
        "/api/v1/me/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 204, response.content
    assert ApiKey.objects.filter(user=user).count() == 2
    announced = Event.objects.get(type="password.changed")
    assert announced.payload["api_keys_kept"] == 2
    assert announced.payload["api_keys_revoked"] == 0


# --- No caching of secrets ----------------------------------------------------------------


def _not_stored(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_answers_carrying_secrets_or_the_account_are_not_stored(api, user):
    login = api.post(
        "/api/v1/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['token']}")
    me = api.get("/api/v1/me")
    key = api.post("/api/v1/me/api-keys", {"name": "ci"}, format="json")
    setup = api.post("/api/v1/me/2fa/setup")
    confirm = api.post(
        "/api/v1/me/2fa/confirm",
        {"code": pyotp.TOTP(setup.json()["secret"]).now()},
        format="json",
    )
    regenerated = api.post(
        "/api/v1/me/2fa/recovery-codes", {"password": DEFAULT_PASSWORD}, format="json"
    )
    challenge = APIClient().post(
        "/api/v1/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    second_step = APIClient().post(
        "/api/v1/auth/login/2fa",
        {
            "challenge": challenge.json()["challenge"],
            "code": regenerated.json()["recovery_codes"][0],
        },
        format="json",
    )
    answers = {
        "login": login,
        "me": me,
        "api key": key,
        "2fa setup": setup,
        "2fa confirm": confirm,
        "recovery codes": regenerated,
        "2fa login": second_step,
    }

    assert {name: r.status_code for name, r in answers.items()} == {
        "login": 200,
        "me": 200,
        "api key": 201,
        "2fa setup": 200,
        "2fa confirm": 200,
        "recovery codes": 200,
        "2fa login": 200,
    }
    assert [name for name, r in answers.items() if not _not_stored(r)] == []
