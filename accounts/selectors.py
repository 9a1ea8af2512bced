"""Reads for accounts."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from core.db import instance_from_row

from . import sql
from .credentials import digest
from .models import ApiKey, ApiSession, RecoveryCode, User, UserProfile

# A credential a request authenticates with: each is looked up by its own statement.
Credential = TypeVar("Credential", ApiSession, ApiKey)


def _credential(
    model: type[Credential], statement: str, params: dict[str, Any]
) -> Credential | None:
    """Runs a credential lookup of accounts/sql.py and builds what ``select_related("user",
    "user__profile")`` would: the credential with its user, the user with their profile (or
    none), and the user's permission names as ``permission_names``."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return None
    user_starts = len(model._meta.concrete_fields)
    profile_starts = user_starts + len(User._meta.concrete_fields)
    credential = instance_from_row(model, row[:user_starts])
    user = instance_from_row(User, row[user_starts:profile_starts])
    profile_values = row[profile_starts:-1]
    profile = None if profile_values[0] is None else instance_from_row(UserProfile, profile_values)
    model.user.field.set_cached_value(credential, user)
    User.profile.related.set_cached_value(user, profile)
    if profile is not None:
        UserProfile.user.field.set_cached_value(profile, user)
    credential.permission_names = row[-1]
    return credential


def session_for_token(*, token: str) -> ApiSession | None:
    """The live session a bearer token opens, with its user, profile and permission names, in
    one indexed query; None when the token is unknown, expired, idle too long or its user is
    disabled."""
    now = timezone.now()
    idle_since = now - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT)
    return _credential(
        ApiSession,
        sql.SESSION_LOOKUP,
        {"digest": digest(token), "now": now, "idle_since": idle_since},
    )


def api_key_for_secret(*, key: str) -> ApiKey | None:
    """The usable API key for a presented key, with its user, profile and permission names,
    in one indexed query."""
    return _credential(ApiKey, sql.API_KEY_LOOKUP, {"digest": digest(key), "now": timezone.now()})


def session_list(*, user: User) -> QuerySet[ApiSession]:
    """The user's sessions that can still be used, most recently active first."""
    now = timezone.now()
    return ApiSession.objects.filter(
        user=user,
        expires_at__gt=now,
        last_accessed_at__gt=now - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT),
    ).order_by("-last_accessed_at", "-id")


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-id")


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()


def user_directory(*, search: str | None = None) -> QuerySet[UserProfile]:
    """Profiles of active users, for picking people; only public fields are selected."""
    profiles = UserProfile.objects.filter(user__is_active=True).only(
        "user_id", "display_name", "avatar_url"
    )
    if search:
        profiles = profiles.filter(display_name__icontains=search)
    return profiles.order_by("display_name", "user_id")


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    recovery_codes_left: int


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def two_factor_status(*, user: User) -> TwoFactorStatus:
    return TwoFactorStatus(
        enabled=bool(user.totp_enabled), recovery_codes_left=recovery_codes_left(user=user)
    )
