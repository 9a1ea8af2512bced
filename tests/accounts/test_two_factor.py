"""Two-factor authentication with an authenticator app, checked the way a person meets it:
through the HTTP API and the admin login, with codes computed by pyotp, an implementation
independent of ours, from the secret the setup step hands out."""

import hashlib
import threading
import time

import django_otp.oath
import pyotp
import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.exceptions import InvalidCredentials
from accounts.models import AuthenticatorDevice, RecoveryCode, User
from accounts.services import credentials, login, two_factor
from core import crypto
from core.context import SYSTEM
from core.models import AuditAction, AuditEvent
from tests.accounts.conftest import last_email_token, sign_in
from tests.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

STEP = 30
USER_AGENT = "pytest-authenticator"
NEW_PASSWORD = "a much better passphrase"


class Clock:
    """The time the server's TOTP check sees, moved by hand."""

    def __init__(self) -> None:
        # A few seconds into a step of today, so "now" never straddles two steps.
        self.now = float(int(time.time()) // STEP * STEP + 5)

    def advance(self, steps: int = 1) -> None:
        self.now += steps * STEP


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    # django-otp's TOTP reads the time through this module-level name.
    monkeypatch.setattr(django_otp.oath, "time", lambda: clock.now)
    return clock


@pytest.fixture(autouse=True)
def no_device_backoff(settings):
    """Wrong codes slow a device down (1, 2, 4... seconds); tests that make a wrong attempt
    and then a right one turn that off, except the test of the back-off itself."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.fixture
def api(db) -> APIClient:
    return APIClient(HTTP_USER_AGENT=USER_AGENT)


@pytest.fixture
def enrolled(user, clock) -> tuple[User, pyotp.TOTP, list[str]]:
    """``user`` with two-factor authentication on: the user, their authenticator app and
    their recovery codes. The clock has moved on since the confirming code."""
    setup = two_factor.totp_setup(user=user)
    app = pyotp.TOTP(setup.secret)
    codes = two_factor.totp_confirm(user=user, code=app.at(clock.now), context=SYSTEM)
    clock.advance(5)
    user.refresh_from_db()
    return user, app, codes


def password_step(client: APIClient, user: User, password: str = DEFAULT_PASSWORD) -> str:
    response = client.post(
        "/api/v1/auth/login", {"email": user.email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["two_factor_required"] is True
    assert "token" not in response.json()
    return response.json()["challenge"]


def second_step(client: APIClient, challenge: str, code: str):
    return client.post(
        "/api/v1/auth/login/2fa", {"challenge": challenge, "code": code}, format="json"
    )


def sign_in_with_code(client: APIClient, user: User, code: str) -> str:
    response = second_step(client, password_step(client, user, NEW_PASSWORD), code)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def problem_fields(response) -> set[str]:
    return {error["field"] for error in response.json().get("errors", [])}


def audited(action: AuditAction, user: User) -> AuditEvent:
    return AuditEvent.objects.get(action=action, target_id=str(user.pk))


# --- The life of a user ------------------------------------------------------------------


def test_life_of_a_user_with_two_factor_authentication(
    api, clock, django_capture_on_commit_callbacks
):
    # Sign up and confirm the address.
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            "/api/v1/auth/register",
            {"email": "ben@example.com", "password": NEW_PASSWORD, "display_name": "Ben"},
            format="json",
        )
    verify = api.post(
        "/api/v1/auth/verify-email",
        {"token": last_email_token(r"\n([\w:-]{40,})\n")},
        format="json",
    )
    assert verify.status_code == 200
    user = User.objects.get(email="ben@example.com")
    sign_in(api, user, NEW_PASSWORD)
    assert api.get("/api/v1/me/2fa").json() == {"enabled": False, "recovery_codes_left": 0}

    # Turn 2FA on with an authenticator app that scans the QR code's URI.
    setup = api.post("/api/v1/me/2fa/setup")
    assert setup.status_code == 200
    body = setup.json()
    assert body["qr_svg"].startswith("<svg")
    app = pyotp.parse_uri(body["otpauth_uri"])
    assert (app.secret, app.issuer, app.name) == (body["secret"], "Atrium", "ben@example.com")
    confirm = api.post("/api/v1/me/2fa/confirm", {"code": app.at(clock.now)}, format="json")
    assert confirm.status_code == 200
    recovery_codes = confirm.json()["recovery_codes"]
    assert len(set(recovery_codes)) == 10
    assert api.get("/api/v1/me/2fa").json() == {"enabled": True, "recovery_codes_left": 10}
    assert api.get("/api/v1/me").json()["totp_enabled"] is True
    assert api.post("/api/v1/auth/logout").status_code == 204
    api.credentials()

    # Sign in again: the password alone opens no session; the app's next code does.
    clock.advance()
    challenge = password_step(api, user, NEW_PASSWORD)
    signed_in = second_step(api, challenge, app.at(clock.now))
    assert signed_in.status_code == 200
    assert signed_in.json()["two_factor_required"] is False
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['token']}")
    assert api.get("/api/v1/me").status_code == 200
    api.post("/api/v1/auth/logout")
    api.credentials()

    # Without the phone: a recovery code works, once.
    challenge = password_step(api, user, NEW_PASSWORD)
    assert second_step(api, challenge, recovery_codes[0].upper()).status_code == 200
    assert second_step(api, challenge, recovery_codes[0]).status_code == 401

    # Turning 2FA off needs the password again.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in_with_code(api, user, recovery_codes[1])}")
    wrong = api.post("/api/v1/me/2fa/disable", {"password": "not it"}, format="json")
    assert wrong.status_code == 400
    assert problem_fields(wrong) == {"password"}
    assert api.get("/api/v1/me/2fa").json()["enabled"] is True
    assert (
        api.post("/api/v1/me/2fa/disable", {"password": NEW_PASSWORD}, format="json").status_code
        == 204
    )
    assert api.get("/api/v1/me/2fa").json() == {"enabled": False, "recovery_codes_left": 0}
    api.credentials()
    assert (
        "token"
        in api.post(
            "/api/v1/auth/login", {"email": user.email, "password": NEW_PASSWORD}, format="json"
        ).json()
    )

    # Each step is on the record, with who, from where and with what.
    for action in (
        AuditAction.TWO_FACTOR_ENABLED,
        AuditAction.RECOVERY_CODE_USED,
        AuditAction.TWO_FACTOR_DISABLED,
    ):
        event = AuditEvent.objects.filter(action=action, target_id=str(user.pk)).first()
        assert event is not None, action
        assert (event.actor_id, event.ip_address, event.user_agent) == (
            user.pk,
            "127.0.0.1",
            USER_AGENT,
        )


# --- Codes -------------------------------------------------------------------------------


def test_a_code_is_accepted_once(api, enrolled, clock):
    user, app, _ = enrolled
    code = app.at(clock.now)

    first = second_step(api, password_step(api, user), code)
    replay = second_step(api, password_step(api, user), code)

    assert first.status_code == 200
    assert replay.status_code == 401
    assert audited(AuditAction.LOGIN_FAILED, user).after == {"step": "second_factor"}


def test_a_code_from_the_previous_step_is_accepted(api, enrolled, clock):
    user, app, _ = enrolled

    response = second_step(api, password_step(api, user), app.at(clock.now - STEP))

    assert response.status_code == 200


def test_a_code_from_three_steps_ago_is_refused(api, enrolled, clock):
    user, app, _ = enrolled

    response = second_step(api, password_step(api, user), app.at(clock.now - 3 * STEP))

    assert response.status_code == 401


def test_once_a_code_is_used_an_older_one_is_refused(api, enrolled, clock):
    user, app, _ = enrolled
    assert second_step(api, password_step(api, user), app.at(clock.now)).status_code == 200

    older = second_step(api, password_step(api, user), app.at(clock.now - STEP))

    assert older.status_code == 401


def test_the_confirming_code_cannot_also_sign_in(api, user, clock):
    setup = two_factor.totp_setup(user=user)
    code = pyotp.TOTP(setup.secret).at(clock.now)
    two_factor.totp_confirm(user=user, code=code, context=SYSTEM)

    assert second_step(api, password_step(api, user), code).status_code == 401


def test_wrong_codes_in_a_row_make_the_next_try_wait(api, enrolled, clock, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    user, app, _ = enrolled
    challenge = password_step(api, user)
    assert second_step(api, challenge, app.at(clock.now - 3 * STEP)).status_code == 401

    response = second_step(api, challenge, app.at(clock.now))

    assert response.status_code == 423
    assert 0 < int(response["Retry-After"]) <= 60


def test_the_second_step_has_its_own_strict_throttle(api, enrolled, settings):
    user, _, _ = enrolled
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "two_factor.ip": "100/min",
            "two_factor.account": "3/min",
        },
    }
    challenge = password_step(api, user)

    answers = [second_step(api, challenge, "12345a").status_code for _ in range(4)]

    assert answers == [401, 401, 401, 429]


def test_a_wrong_confirming_code_leaves_2fa_off(signed_in, user, clock):
    setup = signed_in.post("/api/v1/me/2fa/setup").json()
    wrong = pyotp.TOTP(setup["secret"]).at(clock.now - 3 * STEP)

    response = signed_in.post("/api/v1/me/2fa/confirm", {"code": wrong}, format="json")

    assert response.status_code == 400
    assert problem_fields(response) == {"code"}
    user.refresh_from_db()
    assert user.totp_enabled is False
    assert not AuthenticatorDevice.objects.filter(user=user).exists()


def test_setup_is_refused_while_2fa_is_on(api, enrolled):
    user, _, _ = enrolled
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {credentials.session_create(user=user, context=SYSTEM)[1]}"
    )

    response = api.post("/api/v1/me/2fa/setup")

    assert response.status_code == 409
    user.refresh_from_db()
    assert user.totp_enabled is True


# --- Recovery codes ----------------------------------------------------------------------


def test_regenerating_recovery_codes_needs_the_password_and_retires_the_old_ones(api, enrolled):
    user, _, old_codes = enrolled
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {credentials.session_create(user=user, context=SYSTEM)[1]}"
    )

    wrong = api.post("/api/v1/me/2fa/recovery-codes", {"password": "not it"}, format="json")
    fresh = api.post("/api/v1/me/2fa/recovery-codes", {"password": DEFAULT_PASSWORD}, format="json")

    assert wrong.status_code == 400
    assert problem_fields(wrong) == {"password"}
    assert fresh.status_code == 200
    new_codes = fresh.json()["recovery_codes"]
    assert len(new_codes) == 10
    assert set(new_codes).isdisjoint(old_codes)
    assert second_step(api, password_step(api, user), old_codes[0]).status_code == 401
    assert second_step(api, password_step(api, user), new_codes[0]).status_code == 200
    assert AuditEvent.objects.filter(
        action=AuditAction.RECOVERY_CODES_REGENERATED, actor=user
    ).exists()


def test_recovery_codes_carry_at_least_fifty_bits(enrolled):
    _, _, codes = enrolled

    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4, 4, 4]
        # 12 symbols from an alphabet of 31: 12 * log2(31) ≈ 59 bits.
        assert set("".join(groups)) <= set("abcdefghjkmnpqrstuvwxyz23456789")


# --- Secrets at rest ---------------------------------------------------------------------


def test_the_totp_secret_is_stored_encrypted(signed_in, user):
    secret = signed_in.post("/api/v1/me/2fa/setup").json()["secret"]

    stored = User.objects.values_list("totp_secret", flat=True).get(pk=user.pk)

    assert secret not in stored
    assert crypto.decrypt(stored) == secret


def test_recovery_codes_are_stored_as_digests_only(enrolled):
    user, _, codes = enrolled

    stored = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))

    assert stored == {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}


# --- Who may call ------------------------------------------------------------------------

MANAGEMENT_CALLS = [
    ("get", "/api/v1/me/2fa"),
    ("post", "/api/v1/me/2fa/setup"),
    ("post", "/api/v1/me/2fa/confirm"),
    ("post", "/api/v1/me/2fa/disable"),
    ("post", "/api/v1/me/2fa/recovery-codes"),
]


@pytest.mark.parametrize(("method", "path"), MANAGEMENT_CALLS)
def test_managing_2fa_refuses_api_keys(api, user, method, path):
    _, key = credentials.api_key_create(user=user, name="script", context=SYSTEM)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    assert getattr(api, method)(path, {}, format="json").status_code == 403


@pytest.mark.parametrize(("method", "path"), MANAGEMENT_CALLS)
def test_managing_2fa_refuses_anonymous_callers(api, method, path):
    assert getattr(api, method)(path, {}, format="json").status_code == 401


def test_a_forged_challenge_is_refused(api, enrolled, clock):
    user, app, _ = enrolled
    challenge = password_step(api, user)
    forged = challenge[:-2] + ("AA" if not challenge.endswith("AA") else "BB")

    response = second_step(api, forged, app.at(clock.now))

    assert response.status_code == 400
    assert problem_fields(response) == {"challenge"}


def test_an_expired_challenge_is_refused(api, enrolled, clock, monkeypatch, settings):
    user, app, _ = enrolled
    challenge = password_step(api, user)
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued + settings.TWO_FACTOR_CHALLENGE_MAX_AGE + 5)

    response = second_step(api, challenge, app.at(clock.now))

    assert response.status_code == 400
    assert problem_fields(response) == {"challenge"}


def test_a_challenge_dies_when_2fa_is_reset(api, synced_roles, enrolled, clock):
    user, app, _ = enrolled
    challenge = password_step(api, user)
    two_factor.two_factor_reset(user=user, actor=StaffUserFactory(roles=["admin"]), context=SYSTEM)

    assert second_step(api, challenge, app.at(clock.now)).status_code == 400


# --- Concurrency -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_code_sent_by_parallel_requests_signs_in_at_most_once(clock):
    user = UserFactory()
    setup = two_factor.totp_setup(user=user)
    app = pyotp.TOTP(setup.secret)
    two_factor.totp_confirm(user=user, code=app.at(clock.now), context=SYSTEM)
    clock.advance(5)
    user.refresh_from_db()
    challenge = login.login_with_password(
        email=user.email, password=DEFAULT_PASSWORD, context=SYSTEM
    )
    code = app.at(clock.now)
    parallel = 6
    start = threading.Barrier(parallel)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            start.wait()
            login.login_with_second_factor(
                challenge=challenge.two_factor_challenge, code=code, context=SYSTEM
            )
            outcomes.append("signed in")
        except InvalidCredentials:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused"] * (parallel - 1) + ["signed in"]


def test_a_stale_copy_of_the_device_cannot_accept_a_used_code(enrolled, clock):
    user, app, _ = enrolled
    first, stale = (AuthenticatorDevice.objects.get(user=user) for _ in range(2))
    code = app.at(clock.now)

    assert first.verify_token(code) is True
    assert stale.verify_token(code) is False
    assert AuthenticatorDevice.objects.get(user=user).last_t == int(clock.now) // STEP


# --- Admin -------------------------------------------------------------------------------


@pytest.fixture
def staff_enrolled(clock) -> tuple[User, pyotp.TOTP]:
    staff = StaffUserFactory()
    setup = two_factor.totp_setup(user=staff)
    app = pyotp.TOTP(setup.secret)
    two_factor.totp_confirm(user=staff, code=app.at(clock.now), context=SYSTEM)
    clock.advance(5)
    return staff, app


def test_with_required_2fa_staff_enter_the_admin_with_a_code(
    client, staff_enrolled, clock, settings
):
    settings.ADMIN_REQUIRES_2FA = True
    staff, app = staff_enrolled

    response = client.post(
        reverse("admin:login"),
        {"username": staff.email, "password": DEFAULT_PASSWORD, "otp_token": app.at(clock.now)},
    )

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_with_required_2fa_the_password_alone_does_not_open_the_admin(
    client, staff_enrolled, settings
):
    settings.ADMIN_REQUIRES_2FA = True
    staff, _ = staff_enrolled

    response = client.post(
        reverse("admin:login"), {"username": staff.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_admin_reset_action_turns_2fa_off(client, synced_roles, enrolled):
    user, _, _ = enrolled
    staff = StaffUserFactory(roles=["admin"])
    client.force_login(staff)

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [user.pk]},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.totp_enabled, user.totp_secret) == (False, None)
    assert not AuthenticatorDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert audited(AuditAction.TWO_FACTOR_DISABLED, user).actor_id == staff.pk


def test_the_user_page_shows_the_recovery_codes_left(client, synced_roles, enrolled):
    user, _, _ = enrolled
    client.force_login(StaffUserFactory(roles=["admin"]))

    page = client.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()

    assert "field-recovery_codes_left" in page
