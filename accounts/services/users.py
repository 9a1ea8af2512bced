"""A person's account: registration and email verification, passwords, the public profile,
and accounts staff make or look after."""

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.http import urlsafe_base64_decode

from accounts import selectors, tokens
from accounts.exceptions import ValidationFailed
from accounts.models import ApiKey, ApiSession, Role, User, UserProfile, UserRole
from accounts.tasks import queue_email, queue_notice
from core import audit
from core.context import ActionContext
from core.db import save_changes
from core.events import Audience, publish
from core.exceptions import Conflict, PermissionDenied
from core.models import AuditAction

from .credentials import revoke_api_keys, revoke_sessions
from .roles import (
    RoleManagementGuard,
    assign_roles,
    require_grant_right,
    require_may_change_account,
)


def _validate_password(password: str, *, user: User, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        raise ValidationFailed(
            "The password is not strong enough.", fields={field: list(error.messages)}
        ) from error


def _validated_profile(profile: UserProfile) -> UserProfile:
    """The profile's field rules (a display name, a URL, the lengths) as a 400 naming each
    bad field, whoever calls: the API's serializer says the same, the admin and the demo do
    not go through it."""
    try:
        profile.full_clean(exclude=["user"], validate_unique=False)
    except DjangoValidationError as error:
        raise ValidationFailed(
            "The profile is not valid.", fields=dict(error.message_dict)
        ) from error
    return profile


def _address_taken() -> ValidationFailed:
    return ValidationFailed(
        "This address already has an account.",
        fields={"email": ["An account with this address exists."]},
    )


def _prepared_user(
    *, email: str, password: str | None, display_name: str, bio: str, **flags: bool
) -> tuple[User, UserProfile]:
    """A new user and their profile, checked and with the password hashed, not yet saved."""
    user = User(email=email, **flags)
    profile = _validated_profile(UserProfile(user=user, display_name=display_name, bio=bio))
    if password is None:
        user.set_unusable_password()
    else:
        _validate_password(password, user=user)
        user.set_password(password)
    return user, profile


def _saved_user(user: User, profile: UserProfile) -> User | None:
    """Saves a prepared user and their profile, or None when the address is taken (a
    concurrent registration included). Runs inside the caller's transaction."""
    try:
        # A savepoint, so a concurrent registration of the same address only undoes this.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        return None
    profile.save()
    return user


@transaction.atomic(durable=True)
def user_register(*, email: str, password: str, display_name: str) -> User | None:
    """Creates an unverified user with a profile and the ``member`` role and emails a
    verification link. An address that already has an account gets a notice instead, and the
    caller sees the same answer after the same work: the input is checked against what was
    sent (never the existing account) and the password hashed either way, so neither the
    answer nor its time tells whether the address is taken. Returns the new user, or None
    when the address was taken."""
    email = User.objects.normalize_email(email.strip())
    user, profile = _prepared_user(
        email=email, password=password, display_name=display_name, bio=""
    )
    existing = selectors.user_by_email(email=email)
    if existing is not None:
        queue_email("already_registered", user=existing)
        return None
    if _saved_user(user, profile) is None:
        return None
    member = Role.objects.filter(name="member").first()
    if member is not None:
        UserRole.objects.create(user=user, role=member)
    queue_email("verification", user=user)
    return user


@transaction.atomic(durable=True)
def user_create(
    *,
    email: str,
    password: str | None,
    display_name: str | None = None,
    bio: str = "",
    is_staff: bool = False,
    verified: bool = False,
    roles: list[Role],
    actor: User | None,
    context: ActionContext,
) -> User:
    """Staff make an account for someone, with a profile and ``roles``; ``verified`` when
    staff vouch for the address. A password of None means one that cannot sign in until
    reset, no display name the address's local part (the person can change it)."""
    if actor is not None and not actor.has_perm("accounts.add_user"):
        raise PermissionDenied("You may not create accounts.")
    if is_staff:
        require_grant_right(actor, "accounts.change_userrole")
    email = User.objects.normalize_email(email.strip())
    user = None
    if selectors.user_by_email(email=email) is None:
        user = _saved_user(
            *_prepared_user(
                email=email,
                password=password,
                display_name=email.split("@")[0] if display_name is None else display_name,
                bio=bio,
                is_staff=is_staff,
                verified=verified,
            )
        )
    if user is None:
        raise _address_taken()
    audit.record(
        action=AuditAction.USER_CREATED,
        actor=actor,
        target=user,
        after={"email": user.email, "is_staff": is_staff},
        context=context,
    )
    assign_roles(user=user, roles=roles, actor=actor, context=context)
    return user


# What staff may switch on an account outside the roles; the first two hand out access.
_ACCESS_FLAGS = frozenset({"is_staff", "is_superuser"})
STATUS_FLAGS = frozenset({"is_active", "verified", *_ACCESS_FLAGS})


@transaction.atomic(durable=True)
def user_set_status(
    *, user: User, actor: User | None, context: ActionContext, **flags: bool
) -> User:
    """Staff action: sets the ``STATUS_FLAGS`` given; writes only what differs. Making
    someone staff or superuser (or no longer) is handing out access."""
    unknown = flags.keys() - STATUS_FLAGS
    if unknown:
        raise ValueError(f"Not a status flag: {', '.join(sorted(unknown))}")
    user = User.objects.select_for_update().get(pk=user.pk)
    require_may_change_account(actor, user)
    changes = {name: value for name, value in flags.items() if getattr(user, name) != value}
    if not changes:
        return user
    if changes.keys() & _ACCESS_FLAGS:
        require_grant_right(actor, "accounts.change_userrole")
    guard = RoleManagementGuard()
    before = {name: getattr(user, name) for name in changes}
    save_changes(user, changes)
    guard.check()
    audit.record(
        action=AuditAction.USER_UPDATED,
        actor=actor,
        target=user,
        before=before,
        after=changes,
        context=context,
    )
    return user


@transaction.atomic(durable=True)
def user_delete(*, users: Sequence[User], actor: User | None, context: ActionContext) -> None:
    """Staff action: removes the accounts, all or none. Refused when it would leave nobody
    able to manage roles (``RoleManagementGuard``), and for an account whose authored rows
    (messages, documents) must outlive it: deactivate that one instead."""
    if actor is not None and not actor.has_perm("accounts.delete_user"):
        raise PermissionDenied("You may not remove accounts.")
    guard = RoleManagementGuard()
    locked = list(
        User.objects.select_for_update().filter(pk__in=[user.pk for user in users]).order_by("pk")
    )
    for user in locked:
        require_may_change_account(actor, user)
        audit.record(
            action=AuditAction.USER_DELETED,
            actor=actor,
            target=user,
            before={
                "email": user.email,
                "roles": sorted(user.roles.values_list("name", flat=True)),
            },
            context=context,
        )
    try:
        User.objects.filter(pk__in=[user.pk for user in locked]).delete()
    except ProtectedError as error:
        raise Conflict(
            "These accounts wrote rows that must be kept; deactivate them instead.",
            code="account_has_history",
        ) from error
    guard.check()


@transaction.atomic(durable=True)
def user_set_email(*, user: User, email: str, actor: User | None, context: ActionContext) -> User:
    """Staff action: moves the account to another address. The new address is unverified
    until its owner opens the link emailed to it (earlier links die with the old address)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    require_may_change_account(actor, user)
    email = User.objects.normalize_email(email.strip())
    if email == user.email:
        return user
    taken = selectors.user_by_email(email=email)
    if taken is not None and taken.pk != user.pk:
        raise _address_taken()
    before = {"email": user.email, "verified": user.verified}
    try:
        # A savepoint: a concurrent claim of the address only undoes this.
        with transaction.atomic():
            save_changes(user, {"email": email, "verified": False})
    except IntegrityError:
        raise _address_taken() from None
    audit.record(
        action=AuditAction.USER_UPDATED,
        actor=actor,
        target=user,
        before=before,
        after={"email": email, "verified": False},
        context=context,
    )
    # The new address must prove itself: a job sends it a link once this commits.
    queue_email("verification", user=user)
    return user


def signed_user(
    value: str, *, salt: str, max_age: int, field: str, refusal: str, **user_filters: object
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
    user = signed_user(
        token,
        salt=tokens.VERIFY_SALT,
        max_age=settings.EMAIL_VERIFICATION_MAX_AGE,
        field="token",
        refusal="This verification link is invalid or has expired; ask for a new one.",
    )
    User.objects.filter(pk=user.pk).exclude(verified=True).update(verified=True)
    user.verified = True
    return user


@transaction.atomic(durable=True)
def verification_resend(*, email: str) -> None:
    """Sends a fresh verification link if the address belongs to an unverified account; says
    nothing either way."""
    user = selectors.user_by_email(email=email)
    if user is not None and not user.verified:
        queue_email("verification", user=user)


# --- Passwords ---------------------------------------------------------------------------


def _password_changed(
    *,
    user: User,
    keep: ApiSession | None,
    actor: User | None,
    context: ActionContext,
    via: str,
    recovery: bool,
) -> None:
    """Records a new password, ends the sessions it outdates and tells the user.

    A ``recovery`` (a reset link, or staff setting the password) assumes whoever held the
    account may have had the old password: every API key goes with the sessions. A change
    made with the current password keeps the keys, and the announcement says how many still
    work so the user can revoke them if that was not what they wanted."""
    audit.record(
        action=AuditAction.PASSWORD_CHANGED,
        actor=actor,
        target=user,
        after={"via": via},
        context=context,
    )
    ended = revoke_sessions(user=user, keep=keep, actor=actor, context=context)
    revoked = revoke_api_keys(user=user, actor=actor, context=context) if recovery else 0
    queue_notice("password_changed", user=user, context=context, via=via)
    publish(
        type="password.changed",
        target=user,
        audience=Audience.user(user.pk),
        actor=actor,
        context=context,
        payload={
            "via": via,
            "sessions_ended": ended,
            "api_keys_revoked": revoked,
            "api_keys_kept": ApiKey.objects.filter(user=user).count(),
        },
    )


@transaction.atomic(durable=True)
def password_change(
    *,
    user: User,
    current_password: str,
    new_password: str,
    current_session: ApiSession | None,
    context: ActionContext,
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
    _password_changed(
        user=user, keep=current_session, actor=user, context=context, via="change", recovery=False
    )


@transaction.atomic(durable=True)
def password_set(
    *, user: User, new_password: str, actor: User | None, context: ActionContext
) -> None:
    """Staff action: gives the user a new password and ends every session of theirs."""
    user = User.objects.select_for_update().get(pk=user.pk)
    require_may_change_account(actor, user)
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    _password_changed(
        user=user, keep=None, actor=actor, context=context, via="staff", recovery=True
    )


@transaction.atomic(durable=True)
def password_reset_request(*, email: str) -> None:
    """Emails a single-use reset link (accounts/tokens.py) if the address has an account;
    says nothing either way."""
    user = selectors.user_by_email(email=email)
    if user is not None and user.is_active:
        queue_email("password_reset", user=user)


@transaction.atomic(durable=True)
def password_reset_confirm(
    *, uid: str, token: str, new_password: str, context: ActionContext
) -> User:
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
    _password_changed(user=user, keep=None, actor=user, context=context, via="reset", recovery=True)
    return user


# --- Profile -----------------------------------------------------------------------------

_PROFILE_FIELDS = frozenset({"display_name", "avatar_url", "bio"})


@transaction.atomic(durable=True)
def profile_update(*, user: User, **changes: object) -> UserProfile:
    """Updates the given profile fields (display_name, avatar_url, bio)."""
    unknown = changes.keys() - _PROFILE_FIELDS
    if unknown:
        raise ValueError(f"Not a profile field: {', '.join(sorted(unknown))}")
    profile, _ = UserProfile.objects.select_for_update().get_or_create(
        user=user, defaults={"display_name": user.email.split("@")[0]}
    )
    for name, value in changes.items():
        setattr(profile, name, value)
    _validated_profile(profile)
    return save_changes(profile, changes)
