"""Reads for accounts."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .authorization import granted_names_of_row_user
from .credentials import digest
from .models import ApiKey, ApiSession, User, UserProfile


def session_for_token(*, token: str) -> ApiSession | None:
    """The live session a bearer token opens, with its user, profile and permission names, in
    one indexed query; None when the token is unknown, expired, idle too long or its user is
    disabled."""
    now = timezone.now()
    return (
        ApiSession.objects.select_related("user", "user__profile")
        .annotate(permission_names=granted_names_of_row_user(ApiSession._meta.db_table))
        .filter(
            token=digest(token),
            expires_at__gt=now,
            last_accessed_at__gt=now - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT),
            user__is_active=True,
        )
        .first()
    )


def api_key_for_secret(*, key: str) -> ApiKey | None:
    """The usable API key for a presented key, with its user, profile and permission names,
    in one indexed query."""
    now = timezone.now()
    return (
        ApiKey.objects.select_related("user", "user__profile")
        .annotate(permission_names=granted_names_of_row_user(ApiKey._meta.db_table))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), key=digest(key))
        .filter(user__is_active=True)
        .first()
    )


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
