"""Writes for accounts: each function is one transaction."""

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Permission as DjangoPermission
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from core import audit
from core.db import save_changes
from core.models import AuditAction

from . import emails, selectors, two_factor
from .authorization import forget_permissions
from .credentials import digest, new_api_key, new_session_token, visible_part
from .exceptions import (
    AccountLocked,
    EmailNotVerified,
    InvalidCredentials,
    NotFound,
    ValidationFailed,
)
from .models import (
    ApiKey,
    ApiSession,
    Permission,
    Role,
    RolePermission,
    User,
    UserProfile,
    UserRole,
)
from .roles import DEFAULT_ROLES


@dataclass(frozen=True)
class PermissionSync:
    permissions_created: int
    roles_created: int
    grants_created: int


def _permission_catalogue() -> dict[str, str]:
    """``app_label.codename`` → description for every model permission Django knows of,
    custom ``Meta.permissions`` included."""
    rows = DjangoPermission.objects.select_related("content_type").order_by(
        "content_type__app_label", "codename"
    )
    return {f"{p.content_type.app_label}.{p.codename}": p.name for p in rows}


@transaction.atomic
def permissions_sync(*, dry_run: bool = False) -> PermissionSync:
    """Creates a permission row for every model permission and the default roles with their
    grants. Idempotent: existing rows and hand-made grants stay as they are."""
    catalogue = _permission_catalogue()
    existing = set(Permission.objects.values_list("name", flat=True))
    new_permissions = [
        Permission(name=name, description=description)
        for name, description in catalogue.items()
        if name not in existing
    ]
    Permission.objects.bulk_create(new_permissions)

    existing_roles = set(Role.objects.values_list("name", flat=True))
    Role.objects.bulk_create(
        [Role(name=name) for name in DEFAULT_ROLES if name not in existing_roles]
    )
    roles = {role.name: role for role in Role.objects.filter(name__in=DEFAULT_ROLES)}
    permissions = dict(Permission.objects.values_list("name", "id"))
    wanted = {
        (roles[role_name].id, permissions[name])
        for role_name, patterns in DEFAULT_ROLES.items()
        for name in permissions
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
    }
    granted = set(
        RolePermission.objects.filter(role__in=roles.values()).values_list(
            "role_id", "permission_id"
        )
    )
    RolePermission.objects.bulk_create(
        [RolePermission(role_id=r, permission_id=p) for r, p in sorted(wanted - granted)]
    )
    result = PermissionSync(
        permissions_created=len(new_permissions),
        roles_created=len(DEFAULT_ROLES) - len(existing_roles & DEFAULT_ROLES.keys()),
        grants_created=len(wanted - granted),
    )
    if dry_run:
        transaction.set_rollback(True)
    return result


def _replace_links(through, *, owner_field: str, owner, target_field: str, wanted: set) -> bool:
    """Makes ``wanted`` the exact set of ``target_field`` ids linked to ``owner`` through a
    join table; returns whether anything changed."""
    target_id = f"{target_field}_id"
    links = through.objects.filter(**{owner_field: owner})
    current = set(links.values_list(target_id, flat=True))
    if wanted == current:
        return False
    links.filter(**{f"{target_id}__in": current - wanted}).delete()
    through.objects.bulk_create(
        [through(**{owner_field: owner, target_id: target}) for target in wanted - current]
    )
    return True


@transaction.atomic
def user_set_roles(*, user: User, roles: list[Role], actor=None, request=None) -> None:
    """Makes ``roles`` exactly the user's roles and records the change."""
    # Lock the user row so two concurrent edits of one user's roles serialise and the audit
    # event's "before" is what the change replaced.
    User.objects.select_for_update().filter(pk=user.pk).first()
    before = sorted(user.roles.values_list("name", flat=True))
    wanted = {role.pk for role in roles}
    if not _replace_links(
        UserRole, owner_field="user", owner=user, target_field="role", wanted=wanted
    ):
        return
    forget_permissions(user)
    audit.record(
        action=AuditAction.ROLES_CHANGED,
        actor=actor,
        target=user,
        before={"roles": before},
        after={"roles": sorted(role.name for role in roles)},
        request=request,
    )


@transaction.atomic
def role_set_permissions(
    *, role: Role, permissions: list[Permission], actor=None, request=None
) -> None:
    """Makes ``permissions`` exactly the role's grants and records the change."""
    Role.objects.select_for_update().filter(pk=role.pk).first()
    before = sorted(role.permissions.values_list("name", flat=True))
    wanted = {permission.pk for permission in permissions}
    if not _replace_links(
        RolePermission, owner_field="role", owner=role, target_field="permission", wanted=wanted
    ):
        return
    audit.record(
        action=AuditAction.ROLE_PERMISSIONS_CHANGED,
        actor=actor,
        target=role,
        before={"permissions": before},
        after={"permissions": sorted(p.name for p in permissions)},
        request=request,
    )


# --- Credentials -------------------------------------------------------------------------


def _client_metadata(request) -> dict:
    return {
        "ip": audit.client_ip(request),
        "user_agent": request.headers.get("User-Agent", "")[:512] if request else "",
    }


def session_create(*, user: User, request=None) -> tuple[ApiSession, str]:
    """Opens a session for a user whose identity the caller has established; returns the row
    and the token, which exists nowhere else from here on. Runs inside the caller's
    transaction."""
    token = new_session_token()
    session = ApiSession.objects.create(
        user=user,
        token=digest(token),
        expires_at=timezone.now() + timedelta(seconds=settings.SESSION_TOKEN_LIFETIME),
        metadata=_client_metadata(request),
    )
    audit.record(action=AuditAction.SESSION_CREATED, actor=user, target=session, request=request)
    return session, token


def _touch(credential: ApiSession | ApiKey, *, field: str) -> None:
    """Records a credential's use at most once per CREDENTIAL_TOUCH_INTERVAL. The condition
    sits in the UPDATE too, so concurrent requests on several workers write once. Every API
    request comes here: the common case, a recent use, returns before building any query."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.CREDENTIAL_TOUCH_INTERVAL)
    last = getattr(credential, field)
    if last is not None and last > stale_before:
        return
    type(credential).objects.filter(
        Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lte": stale_before}),
        pk=credential.pk,
    ).update(**{field: now})


def session_touch(*, session: ApiSession) -> None:
    _touch(session, field="last_accessed_at")


def api_key_touch(*, api_key: ApiKey) -> None:
    _touch(api_key, field="last_used_at")


@transaction.atomic
def session_revoke(*, user: User, session_id, actor: User | None = None, request=None) -> None:
    """Ends one of the user's sessions (logout when it is the current one); ``actor`` is the
    staff member doing it, when it is not the user."""
    deleted, _ = ApiSession.objects.filter(pk=session_id, user=user).delete()
    if not deleted:
        raise NotFound("No such session.")
    audit.record(
        action=AuditAction.SESSION_REVOKED,
        actor=actor or user,
        after={"session": str(session_id)},
        target=user,
        request=request,
    )


def _revoke_sessions(*, user: User, keep: ApiSession | None, actor, request) -> int:
    sessions = ApiSession.objects.filter(user=user)
    if keep is not None:
        sessions = sessions.exclude(pk=keep.pk)
    revoked = [str(pk) for pk in sessions.values_list("pk", flat=True)]
    sessions.filter(pk__in=revoked).delete()
    if revoked:
        audit.record(
            action=AuditAction.SESSION_REVOKED,
            actor=actor,
            target=user,
            after={"sessions": revoked},
            request=request,
        )
    return len(revoked)


@transaction.atomic
def session_revoke_others(*, user: User, current: ApiSession | None, request=None) -> int:
    """Ends every session of the user but ``current``; returns how many ended."""
    return _revoke_sessions(user=user, keep=current, actor=user, request=request)


@transaction.atomic
def sessions_revoke_all(*, user: User, actor, request=None) -> int:
    """Staff action: ends every session of the user."""
    return _revoke_sessions(user=user, keep=None, actor=actor, request=request)


def sessions_purge_expired(*, dry_run: bool = False) -> int:
    """Deletes sessions past their absolute expiry or idle too long; returns how many."""
    now = timezone.now()
    dead = ApiSession.objects.filter(
        Q(expires_at__lte=now)
        | Q(last_accessed_at__lte=now - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT))
    )
    if dry_run:
        return dead.count()
    deleted, _ = dead.delete()
    return deleted


@transaction.atomic
def api_key_create(
    *,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    scopes: list[str] | None = None,
    request=None,
) -> tuple[ApiKey, str]:
    """Creates a key for ``user``; returns the row and the key, shown to the caller once.

    Scopes may only narrow what the owner holds: each must be one of the owner's permissions
    now (and is checked against the owner's permissions again on every use).
    """
    scopes = sorted(set(scopes or []))
    beyond = set(scopes) - user.get_all_permissions()
    if user.is_superuser:
        beyond -= set(Permission.objects.filter(name__in=beyond).values_list("name", flat=True))
    if beyond:
        raise ValidationFailed(
            "A key cannot hold permissions its owner lacks.",
            fields={"scopes": [f"Not among your permissions: {', '.join(sorted(beyond))}."]},
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            "The expiry must be in the future.", fields={"expires_at": ["Must be in the future."]}
        )
    secret = new_api_key()
    api_key = ApiKey.objects.create(
        user=user,
        name=name,
        expires_at=expires_at,
        scopes=scopes,
        key=digest(secret),
        prefix=visible_part(secret),
    )
    audit.record(
        action=AuditAction.API_KEY_CREATED,
        actor=user,
        target=api_key,
        after={"name": name, "scopes": scopes, "prefix": api_key.prefix},
        request=request,
    )
    return api_key, secret


@transaction.atomic
def api_keys_revoke_all(*, user: User, actor, request=None) -> int:
    """Staff action: revokes every API key of the user; returns how many."""
    keys = list(ApiKey.objects.select_for_update().filter(user=user))
    for api_key in keys:
        api_key_revoke(api_key=api_key, actor=actor, request=request)
    return len(keys)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor, request=None) -> None:
    deleted, _ = ApiKey.objects.filter(pk=api_key.pk).delete()
    if not deleted:
        raise NotFound("No such API key.")
    audit.record(
        action=AuditAction.API_KEY_REVOKED,
        actor=actor,
        target=api_key,
        before={"name": api_key.name, "prefix": api_key.prefix},
        request=request,
    )


# --- Registration and verification -------------------------------------------------------

_VERIFY_SALT = "accounts.verify-email"


def _verification_token(user: User) -> str:
    # The email is signed in so a link stops working if the address changes.
    return signing.dumps({"user": str(user.pk), "email": user.email}, salt=_VERIFY_SALT)


def _validate_password(password: str, *, user: User, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        raise ValidationFailed(
            "The password is not strong enough.", fields={field: list(error.messages)}
        ) from error


@transaction.atomic(durable=True)
def user_register(*, email: str, password: str, display_name: str, request=None) -> User | None:
    """Creates an unverified user with a profile and the ``member`` role and emails a
    verification link. An address that already has an account gets a notice instead, and the
    caller sees the same answer, so registration cannot be used to probe for accounts.
    Returns the new user, or None when the address was taken."""
    email = User.objects.normalize_email(email.strip())
    existing = selectors.user_by_email(email=email)
    if existing is not None:
        transaction.on_commit(partial(emails.send_already_registered, user=existing))
        return None
    user = User(email=email)
    _validate_password(password, user=user)
    user.set_password(password)
    try:
        # A savepoint, so a concurrent registration of the same address only undoes this.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        return None
    UserProfile.objects.create(user=user, display_name=display_name)
    member = Role.objects.filter(name="member").first()
    if member is not None:
        UserRole.objects.create(user=user, role=member)
    transaction.on_commit(
        partial(emails.send_verification, user=user, token=_verification_token(user))
    )
    return user


def _signed_user(
    value: str, *, salt: str, max_age: int, field: str, refusal: str, **user_filters
) -> User:
    """The user a signed, time-limited value names, or a 400 naming ``field``. The value's
    claims (other than "user") must match the user's current columns, so e.g. a verification
    link dies when the address changes."""
    invalid = ValidationFailed(refusal, fields={field: ["Invalid or expired."]})
    try:
        claims = signing.loads(value, salt=salt, max_age=max_age)
    except signing.BadSignature as error:  # SignatureExpired is a BadSignature
        raise invalid from error
    user_id = claims.pop("user")
    user = User.objects.filter(pk=user_id, **claims, **user_filters).first()
    if user is None:
        raise invalid
    return user


@transaction.atomic(durable=True)
def user_verify_email(*, token: str) -> User:
    """Marks the address in a verification link as verified; using a link twice is harmless."""
    user = _signed_user(
        token,
        salt=_VERIFY_SALT,
        max_age=settings.EMAIL_VERIFICATION_MAX_AGE,
        field="token",
        refusal="This verification link is invalid or has expired; ask for a new one.",
    )
    User.objects.filter(pk=user.pk).exclude(verified=True).update(verified=True)
    user.verified = True
    return user


def verification_resend(*, email: str) -> None:
    """Sends a fresh verification link if the address belongs to an unverified account; says
    nothing either way."""
    user = selectors.user_by_email(email=email)
    if user is not None and not user.verified:
        emails.send_verification(user=user, token=_verification_token(user))


# --- Login and lockout -------------------------------------------------------------------


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
    return _signed_user(
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


@transaction.atomic(durable=True)
def _login_failed(*, user: User, request) -> None:
    # The row lock makes concurrent failures queue, so every one is counted and exactly one
    # of them crosses the threshold.
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.locked_until is not None and user.locked_until > timezone.now():
        return
    user.failed_login_attempts = (user.failed_login_attempts or 0) + 1
    audit.record(action=AuditAction.LOGIN_FAILED, actor=None, target=user, request=request)
    if user.failed_login_attempts >= settings.LOGIN_LOCKOUT_THRESHOLD:
        user.locked_until = timezone.now() + _lockout_duration(user.lockout_count)
        user.lockout_count += 1
        user.failed_login_attempts = 0
        audit.record(
            action=AuditAction.ACCOUNT_LOCKED,
            actor=None,
            target=user,
            after={"locked_until": user.locked_until.isoformat()},
            request=request,
        )
    user.save(update_fields=["failed_login_attempts", "locked_until", "lockout_count"])


def _check_password_in_constant_time(user: User | None, password: str) -> bool:
    if user is None:
        # Hash anyway, so an unknown email costs the same time as a wrong password.
        User().set_password(password)
        return False
    return user.check_password(password)


def authenticate_password(*, email: str, password: str, request=None) -> User:
    """Checks an email and password for every way in (API, admin), with the lockout.

    Raises InvalidCredentials for an unknown email or a wrong password alike (in about the
    same time), AccountLocked while the account is locked. On success the failure counters
    are reset and the user is returned; opening a session is the caller's next step."""
    user = selectors.user_by_email(email=email)
    if user is not None and not user.is_active:
        user = None
    password_ok = _check_password_in_constant_time(user, password)
    if user is None:
        audit.record(action=AuditAction.LOGIN_FAILED, after={"email": email[:255]}, request=request)
        raise InvalidCredentials()
    _raise_if_locked(user)
    if not password_ok:
        _login_failed(user=user, request=request)
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


def login_with_password(*, email: str, password: str, request=None) -> LoginResult:
    """First (often only) step of signing in to the API: a session, or for an account with
    two-factor authentication a challenge for the second step. Refuses unverified addresses
    (EmailNotVerified) once the password is right."""
    user = authenticate_password(email=email, password=password, request=request)
    if not user.verified:
        raise EmailNotVerified()
    if user.totp_enabled:
        return LoginResult(user=user, two_factor_challenge=_two_factor_challenge(user))
    with transaction.atomic(durable=True):
        return session_open(user=user, request=request)


def session_open(*, user: User, request) -> LoginResult:
    """Completes a sign-in: records it and opens the session. Runs in the caller's
    transaction, after every factor has been checked."""
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    audit.record(action=AuditAction.LOGIN_SUCCEEDED, actor=user, target=user, request=request)
    session, token = session_create(user=user, request=request)
    return LoginResult(user=user, session=session, token=token)


@transaction.atomic
def user_lock(*, user: User, actor, request=None) -> datetime:
    """Staff action: blocks sign-in for the longest lockout and ends the user's sessions, for
    an account that looks compromised. Returns when the lock ends."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.locked_until = timezone.now() + timedelta(seconds=settings.LOGIN_LOCKOUT_MAX_SECONDS)
    user.save(update_fields=["locked_until"])
    audit.record(
        action=AuditAction.ACCOUNT_LOCKED,
        actor=actor,
        target=user,
        after={"locked_until": user.locked_until.isoformat(), "by_staff": True},
        request=request,
    )
    _revoke_sessions(user=user, keep=None, actor=actor, request=request)
    return user.locked_until


@transaction.atomic
def user_unlock(*, user: User, actor, request=None) -> bool:
    """Lifts a lockout and forgets past failures; returns whether the user was locked."""
    user = User.objects.select_for_update().get(pk=user.pk)
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
        request=request,
    )
    return was_locked


# --- Passwords ---------------------------------------------------------------------------


@transaction.atomic(durable=True)
def password_change(
    *,
    user: User,
    current_password: str,
    new_password: str,
    current_session: ApiSession | None,
    request=None,
) -> None:
    """Changes the password and ends every other session of the user."""
    if not user.check_password(current_password):
        raise ValidationFailed(
            "The current password is wrong.",
            fields={"current_password": ["Does not match your password."]},
        )
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record(action=AuditAction.PASSWORD_CHANGED, actor=user, target=user, request=request)
    _revoke_sessions(user=user, keep=current_session, actor=user, request=request)


def password_reset_request(*, email: str) -> None:
    """Emails a single-use reset link if the address has an account; says nothing either
    way. Django's token embeds the password hash, so it dies once the password changes."""
    user = selectors.user_by_email(email=email)
    if user is not None and user.is_active:
        emails.send_password_reset(
            user=user,
            uid=urlsafe_base64_encode(force_bytes(user.pk)),
            token=default_token_generator.make_token(user),
        )


@transaction.atomic(durable=True)
def password_reset_confirm(*, uid: str, token: str, new_password: str, request=None) -> User:
    """Sets a new password from a reset link, ends every session and lifts any lockout."""
    invalid = ValidationFailed(
        "This reset link is invalid or has been used.", fields={"token": ["Invalid or used."]}
    )
    try:
        user_id = urlsafe_base64_decode(uid).decode()
        user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    except (ValueError, DjangoValidationError):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise invalid
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.failed_login_attempts = 0
    user.lockout_count = 0
    user.locked_until = None
    user.save(update_fields=["password", "failed_login_attempts", "lockout_count", "locked_until"])
    audit.record(action=AuditAction.PASSWORD_CHANGED, actor=user, target=user, request=request)
    _revoke_sessions(user=user, keep=None, actor=user, request=request)
    return user


# --- Profile -----------------------------------------------------------------------------


@transaction.atomic
def profile_update(*, user: User, **changes) -> UserProfile:
    """Updates the given profile fields (display_name, avatar_url, bio)."""
    profile, _ = UserProfile.objects.select_for_update().get_or_create(
        user=user, defaults={"display_name": user.email.split("@")[0]}
    )
    return save_changes(profile, changes)


def login_with_second_factor(*, challenge: str, code: str, request=None) -> LoginResult:
    """Second step of signing in for an account with two-factor authentication: the challenge
    from the password step and an authenticator or recovery code. A wrong or reused code is
    InvalidCredentials and is recorded; repeated failures are slowed by the device's
    back-off (Locked) and the API throttle."""
    user = user_for_two_factor_challenge(challenge=challenge)
    _raise_if_locked(user)
    if not two_factor.two_factor_verify(user=user, code=code, request=request):
        audit.record(
            action=AuditAction.LOGIN_FAILED,
            target=user,
            after={"step": "second_factor"},
            request=request,
        )
        raise InvalidCredentials("The code is wrong or has already been used.")
    with transaction.atomic(durable=True):
        return session_open(user=user, request=request)
