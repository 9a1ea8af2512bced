"""Failed sign-ins are counted atomically and lock the account, longer each time."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.exceptions import InvalidCredentials
from accounts.models import User
from accounts.services import login
from core.context import SYSTEM
from core.models import AuditAction, AuditEvent
from tests.accounts.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def _attempt(api, user, password="wrong password"):
    return api.post(
        "/api/v1/auth/login", {"email": user.email, "password": password}, format="json"
    )


def _lift_lock(user):
    """As if the lock's time had passed."""
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))


def test_the_threshold_th_wrong_password_locks_the_account(api, user, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    answers = [_attempt(api, user).status_code for _ in range(3)]

    assert answers == [401, 401, 423]
    locked = _attempt(api, user, DEFAULT_PASSWORD)
    assert locked.status_code == 423
    assert 890 <= int(locked["Retry-After"]) <= 900
    assert locked.json()["locked_until"]
    assert AuditEvent.objects.filter(action=AuditAction.ACCOUNT_LOCKED).count() == 1


def test_the_lock_expires_and_a_correct_password_then_resets_the_counter(api, user, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    for _ in range(2):
        _attempt(api, user)
    _lift_lock(user)

    sign_in(api, user)

    user.refresh_from_db()
    assert (user.failed_login_attempts, user.lockout_count) == (0, 0)


def test_a_correct_password_resets_the_failure_count(api, user):
    _attempt(api, user)
    _attempt(api, user)

    sign_in(api, user)

    user.refresh_from_db()
    assert user.failed_login_attempts == 0


def test_each_lockout_in_a_row_lasts_twice_as_long(api, user, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 1
    first = int(_attempt(api, user)["Retry-After"])
    _lift_lock(user)
    second = int(_attempt(api, user)["Retry-After"])

    assert first == pytest.approx(900, abs=2)
    assert second == pytest.approx(1800, abs=2)


def test_lockouts_stop_growing_at_the_cap(api, user, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 1
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 1000
    User.objects.filter(pk=user.pk).update(lockout_count=10)

    assert int(_attempt(api, user)["Retry-After"]) == pytest.approx(1000, abs=2)


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_are_all_counted(settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 100
    user = UserFactory()
    attempts = 12

    def wrong_password(_):
        try:
            login.login_with_password(email=user.email, password="wrong", context=SYSTEM)
        except InvalidCredentials:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(wrong_password, range(attempts)))

    user.refresh_from_db()
    assert results == ["refused"] * attempts
    assert user.failed_login_attempts == attempts


@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_at_the_threshold_lock_exactly_once(settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 5
    user = UserFactory()

    def wrong_password(_):
        try:
            login.login_with_password(email=user.email, password="wrong", context=SYSTEM)
        except Exception as error:  # the kind of refusal is what the test collects
            return type(error).__name__
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(wrong_password, range(8)))

    user.refresh_from_db()
    assert user.locked_until is not None
    assert user.lockout_count == 1
    assert AuditEvent.objects.filter(action=AuditAction.ACCOUNT_LOCKED).count() == 1


def test_unlock_user_command_lifts_the_lock_and_is_audited(api, user, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 1
    _attempt(api, user)

    call_command("unlock_user", user.email, verbosity=0)

    sign_in(api, user)
    assert AuditEvent.objects.filter(action=AuditAction.ACCOUNT_UNLOCKED).exists()


def test_unlock_user_dry_run_changes_nothing(api, user, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 1
    _attempt(api, user)

    call_command("unlock_user", user.email, "--dry-run", verbosity=0)

    assert _attempt(api, user, DEFAULT_PASSWORD).status_code == 423


def test_the_admin_login_shares_the_lockout(client, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    staff = StaffUserFactory(roles=["admin"])
    for _ in range(2):
        client.post("/admin/login/", {"username": staff.email, "password": "wrong"})

    response = client.post(
        "/admin/login/?next=/admin/", {"username": staff.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200  # the form again, not the redirect into the admin
    staff.refresh_from_db()
    assert staff.locked_until is not None
    assert (
        AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, target_id=str(staff.pk)).count()
        == 2
    )
