"""Account security events reach the account's own user, and only once what they tell of has
committed."""

import pyotp
import pytest

from accounts.models import User
from accounts.services import credentials, login, two_factor, users
from core import events
from core.context import SYSTEM, ActionContext
from core.events import Audience
from core.exceptions import ValidationFailed
from tests.accounts.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much better passphrase"


@pytest.fixture
def heard():
    """Every announcement delivered while the test runs."""
    announcements: list[events.Announcement] = []
    events.receiver(announcements.append)
    yield announcements
    events.disconnect(announcements.append)


def types(announcements) -> list[str]:
    return [announcement.type for announcement in announcements]


def test_signing_in_tells_the_user_of_the_new_session_after_commit(
    api, user, heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as pending:
        sign_in(api, user)
        assert heard == []

    for callback in pending:
        callback()
    (announcement,) = heard
    assert announcement.type == "session.created"
    assert announcement.audience == Audience.user(user.pk)
    assert announcement.actor_id == str(user.pk)
    assert announcement.context.ip_address == "127.0.0.1"
    # The session as GET /me/sessions lists it to itself, never its token.
    assert announcement.payload["id"] == announcement.object_id
    assert announcement.payload["current"] is True
    assert "token" not in announcement.payload


def test_a_refused_api_key_announces_nothing(user, heard, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as pending,
        pytest.raises(ValidationFailed),
    ):
        credentials.api_key_create(
            user=user, name="greedy", scopes=["billing.delete_invoice"], context=SYSTEM
        )

    assert pending == []
    assert heard == []


def test_a_lock_that_rolls_back_announces_nothing(
    synced_roles, user, heard, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(**_):
        raise RuntimeError("the sessions could not be ended")

    monkeypatch.setattr(login, "revoke_sessions", broken)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        login.user_lock(user=user, actor=StaffUserFactory(roles=["admin"]), context=SYSTEM)

    assert heard == []
    assert User.objects.get(pk=user.pk).locked_until is None


def test_api_keys_created_and_revoked_are_announced_to_their_owner(
    signed_in, user, heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = signed_in.post("/api/v1/me/api-keys", {"name": "ci"}, format="json").json()
        signed_in.delete(f"/api/v1/me/api-keys/{created['id']}")

    assert types(heard) == ["api_key.created", "api_key.revoked"]
    assert {a.audience for a in heard} == {Audience.user(user.pk)}
    # The key as the list shows it (the creation's answer less the secret); then its id.
    assert heard[0].payload == {name: value for name, value in created.items() if name != "key"}
    assert heard[1].payload == {"id": created["id"]}


def test_turning_two_factor_on_and_off_is_announced(
    synced_roles, user, heard, django_capture_on_commit_callbacks
):
    context = ActionContext(ip_address="192.0.2.7", user_agent="phone")
    setup = two_factor.totp_setup(user=user)

    with django_capture_on_commit_callbacks(execute=True):
        two_factor.totp_confirm(user=user, code=pyotp.TOTP(setup.secret).now(), context=context)
        two_factor.two_factor_reset(
            user=user, actor=StaffUserFactory(roles=["admin"]), context=SYSTEM
        )

    assert types(heard) == ["two_factor.enabled", "two_factor.disabled"]
    assert heard[0].payload == {"recovery_codes_left": 10}
    assert heard[0].context == context
    assert heard[1].payload == {"by_staff": True}
    assert {a.audience for a in heard} == {Audience.user(user.pk)}


def test_a_password_change_is_announced_with_the_sessions_it_ended(
    signed_in, user, heard, django_capture_on_commit_callbacks
):
    sign_in(signed_in.__class__(), user)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            "/api/v1/me/password",
            {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
            format="json",
        )

    assert response.status_code == 204
    (announcement,) = heard
    assert announcement.type == "password.changed"
    assert announcement.audience == Audience.user(user.pk)
    assert announcement.payload == {
        "via": "change",
        "sessions_ended": 1,
        "api_keys_revoked": 0,
        "api_keys_kept": 0,
    }


def test_a_lockout_after_failed_sign_ins_is_announced(
    api, user, heard, settings, django_capture_on_commit_callbacks
):
    settings.LOGIN_LOCKOUT_THRESHOLD = 1

    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/auth/login", {"email": user.email, "password": "wrong"}, format="json")

    (announcement,) = heard
    assert announcement.type == "account.locked"
    assert announcement.audience == Audience.user(user.pk)
    assert announcement.actor_id is None
    assert announcement.payload["by_staff"] is False


def test_a_staff_password_reset_is_announced(heard, django_capture_on_commit_callbacks):
    member = UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        users.password_set(user=member, new_password=NEW_PASSWORD, actor=None, context=SYSTEM)

    assert types(heard) == ["password.changed"]
    assert heard[0].payload == {
        "via": "staff",
        "sessions_ended": 0,
        "api_keys_revoked": 0,
        "api_keys_kept": 0,
    }
