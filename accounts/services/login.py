"""Signing in (the password, then the second factor for accounts that have one), the
failure counter, and lockouts, automatic or by staff."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import devices, selectors
from accounts.exceptions import AccountLocked, EmailNotVerified, InvalidCredentials
from accounts.models import ApiSession, SignInDevice, User
from accounts.tasks import queue_notice
from core import audit
from core.context import ActionContext
from core.events import Audience, publish
from core.models import AuditAction

from .credentials import issue_session, revoke_sessions
from .roles import require_may_change_account
from .two_factor import two_factor_verify
from .users import signed_user


@dataclass(frozen=True)
class LoginResult:
    user: User
    session: ApiSession | None = None
    token: str | None = None
    # Set instead of a session when the user must still give a second factor.
    two_factor_challenge: str | None = None


_CHALLENGE_SALT = "accounts.two-factor-challenge"


def _two_factor_challenge(user: User) -> str:
    return signing.dumps({"user": str(user.pk)}, salt=_CHALLENGE_SALT)


def user_for_two_factor_challenge(*, challenge: str) -> User:
    """The user a password step vouched for, while the challenge is fresh."""
    return signed_user(
        challenge,
        salt=_CHALLENGE_SALT,
        max_age=settings.TWO_FACTOR_CHALLENGE_MAX_AGE,
        field="challenge",
        refusal="The sign-in step has expired; sign in again.",
        is_active=True,
        totp_enabled=True,
    )


def _lockout_duration(lockout_count: int) -> timedelta:
    """Each lockout in a row lasts twice as long as the one before, up to the cap."""
    seconds = settings.LOGIN_LOCKOUT_SECONDS * 2 ** min(lockout_count, 16)
    return timedelta(seconds=min(seconds, settings.LOGIN_LOCKOUT_MAX_SECONDS))


def _raise_if_locked(user: User) -> None:
    if user.locked_until is not None and user.locked_until > timezone.now():
        raise AccountLocked(user.locked_until)


def _announce_lock(
    *, user: User, locked_until: datetime, actor: User | None, context: ActionContext
) -> None:
    """Records and announces the lock the caller just set on ``user`` (until ``locked_until``)."""
    by_staff = actor is not None
    after: dict[str, str | bool] = {"locked_until": locked_until.isoformat()}
    if by_staff:
        after["by_staff"] = True
    audit.record(
        action=AuditAction.ACCOUNT_LOCKED, actor=actor, target=user, after=after, context=context
    )
    queue_notice(
        "account_locked",
        user=user,
        context=context,
        locked_until=locked_until.isoformat(),
        by_staff=by_staff,
    )
    publish(
        type="account.locked",
        target=user,
        audience=Audience.user(user.pk),
        actor=actor,
        context=context,
        payload={"locked_until": locked_until.isoformat(), "by_staff": by_staff},
    )


@transaction.atomic(durable=True)
def _login_failed(*, user: User, context: ActionContext) -> None:
    # The row lock makes concurrent failures queue, so every one is counted and exactly one
    # of them crosses the threshold.
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.locked_until is not None and user.locked_until > timezone.now():
        return
    user.failed_login_attempts = (user.failed_login_attempts or 0) + 1
    audit.record(action=AuditAction.LOGIN_FAILED, actor=None, target=user, context=context)
    if user.failed_login_attempts >= settings.LOGIN_LOCKOUT_THRESHOLD:
        user.locked_until = timezone.now() + _lockout_duration(user.lockout_count)
        user.lockout_count += 1
        user.failed_login_attempts = 0
        _announce_lock(user=user, locked_until=user.locked_until, actor=None, context=context)
    user.save(update_fields=["failed_login_attempts", "locked_until", "lockout_count"])


@transaction.atomic(durable=True)
def _unknown_login(*, email: str, context: ActionContext) -> None:
    audit.record(action=AuditAction.LOGIN_FAILED, after={"email": email[:255]}, context=context)


def _check_password_in_constant_time(user: User | None, password: str) -> bool:
    if user is None:
        # Hash anyway, so an unknown email costs the same time as a wrong password.
        User().set_password(password)
        return False
    return user.check_password(password)


def authenticate_password(*, email: str, password: str, context: ActionContext) -> User:
    """Checks an email and password for every way in (API, admin), with the lockout.

    Raises InvalidCredentials for an unknown email or a wrong password alike (in about the
    same time), AccountLocked while the account is locked. On success the failure counters
    are reset and the user is returned; opening a session is the caller's next step. Each
    outcome is its own transaction, so a counted failure commits although the call raises."""
    user = selectors.user_by_email(email=email)
    if user is not None and not user.is_active:
        user = None
    password_ok = _check_password_in_constant_time(user, password)
    if user is None:
        _unknown_login(email=email, context=context)
        raise InvalidCredentials()
    _raise_if_locked(user)
    if not password_ok:
        _login_failed(user=user, context=context)
        # The failure that locks the account says so at once.
        _raise_if_locked(User.objects.get(pk=user.pk))
        raise InvalidCredentials()
    return _password_accepted(user=user)


@transaction.atomic(durable=True)
def _password_accepted(*, user: User) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    # A lock set by a concurrent failure while this password was being hashed still holds.
    _raise_if_locked(user)
    user.failed_login_attempts = 0
    user.lockout_count = 0
    user.locked_until = None
    user.save(update_fields=["failed_login_attempts", "lockout_count", "locked_until"])
    return user


def login_with_password(*, email: str, password: str, context: ActionContext) -> LoginResult:
    """First (often only) step of signing in to the API: a session, or for an account with
    two-factor authentication a challenge for the second step. Refuses unverified addresses
    (EmailNotVerified) once the password is right."""
    user = authenticate_password(email=email, password=password, context=context)
    if not user.verified:
        raise EmailNotVerified()
    if user.totp_enabled:
        return LoginResult(user=user, two_factor_challenge=_two_factor_challenge(user))
    return _session_open(user=user, context=context)


@transaction.atomic(durable=True)
def _second_factor_failed(*, user: User, context: ActionContext) -> None:
    audit.record(
        action=AuditAction.LOGIN_FAILED,
        target=user,
        after={"step": "second_factor"},
        context=context,
    )


def login_with_second_factor(*, challenge: str, code: str, context: ActionContext) -> LoginResult:
    """Second step of signing in for an account with two-factor authentication: the challenge
    from the password step and an authenticator or recovery code. A wrong or reused code is
    InvalidCredentials and is recorded; repeated failures are slowed by the device's
    back-off (Locked) and the API throttle."""
    user = user_for_two_factor_challenge(challenge=challenge)
    _raise_if_locked(user)
    if not two_factor_verify(user=user, code=code, context=context):
        _second_factor_failed(user=user, context=context)
        raise InvalidCredentials("The code is wrong or has already been used.")
    return _session_open(user=user, context=context)


@transaction.atomic(durable=True)
def _session_open(*, user: User, context: ActionContext) -> LoginResult:
    """Completes a sign-in, after every factor has been checked: records it and opens the
    session."""
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    audit.record(action=AuditAction.LOGIN_SUCCEEDED, actor=user, target=user, context=context)
    _note_device(user=user, context=context)
    session, token = issue_session(user=user, context=context)
    return LoginResult(user=user, session=session, token=token)


# A device and network not seen for this long is new again.
NEW_DEVICE_AFTER = timedelta(days=30)


def _note_device(*, user: User, context: ActionContext) -> None:
    """Remembers the device and network of a sign-in (accounts/devices.py) and emails the user
    when they are new, once per device: the unique (user, family, network) row makes two
    concurrent sign-ins from it one notice. An account's first sign-in is no news to its
    owner. Runs inside the sign-in's transaction."""
    now = timezone.now()
    family, network = devices.family(context.user_agent), devices.network(context.ip_address)
    known = (
        SignInDevice.objects.select_for_update()
        .filter(user=user, family=family, network=network)
        .first()
    )
    if known is None:
        first_sign_in = not SignInDevice.objects.filter(user=user).exists()
        try:
            with transaction.atomic():  # a savepoint: a concurrent sign-in may have won
                SignInDevice.objects.create(
                    user=user, family=family, network=network, last_seen_at=now
                )
        except IntegrityError:
            return
        if first_sign_in:
            return
    else:
        SignInDevice.objects.filter(pk=known.pk).update(last_seen_at=now)
        if known.last_seen_at >= now - NEW_DEVICE_AFTER:
            return
    queue_notice("new_device", user=user, context=context)


@transaction.atomic(durable=True)
def user_lock(*, user: User, actor: User | None, context: ActionContext) -> datetime:
    """Staff action: blocks sign-in for the longest lockout and ends the user's sessions, for
    an account that looks compromised. Returns when the lock ends."""
    user = User.objects.select_for_update().get(pk=user.pk)
    require_may_change_account(actor, user)
    user.locked_until = timezone.now() + timedelta(seconds=settings.LOGIN_LOCKOUT_MAX_SECONDS)
    user.save(update_fields=["locked_until"])
    _announce_lock(user=user, locked_until=user.locked_until, actor=actor, context=context)
    revoke_sessions(user=user, keep=None, actor=actor, context=context)
    return user.locked_until


@transaction.atomic(durable=True)
def user_unlock(*, user: User, actor: User | None, context: ActionContext) -> bool:
    """Lifts a lockout and forgets past failures; returns whether the user was locked."""
    user = User.objects.select_for_update().get(pk=user.pk)
    require_may_change_account(actor, user)
    was_locked = user.locked_until is not None and user.locked_until > timezone.now()
    user.locked_until = None
    user.failed_login_attempts = 0
    user.lockout_count = 0
    user.save(update_fields=["locked_until", "failed_login_attempts", "lockout_count"])
    audit.record(
        action=AuditAction.ACCOUNT_UNLOCKED,
        actor=actor,
        target=user,
        before={"was_locked": was_locked},
        context=context,
    )
    return was_locked
