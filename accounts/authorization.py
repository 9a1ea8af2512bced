"""Who holds which permission: the roles → permissions model, read once per request."""

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Permission

_CACHE_ATTR = "_atrium_permission_names"


def _names_granted_to(user_ref) -> QuerySet:
    # The same rule as accounts/sql.py's lookup, which brings the names with the credential.
    return Permission.objects.filter(roles__users=user_ref).values_list("name", flat=True)


def user_permission_names(user) -> frozenset[str]:
    """The ``app_label.codename`` names this user holds through roles (all, for a superuser).

    Cached on the user object, which lives for one request, so a role change applies from
    the caller's next request; services that change roles call ``forget_permissions``.
    """
    if not user.is_active or user.is_anonymous:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        if user.is_superuser:
            names = Permission.objects.values_list("name", flat=True)
        else:
            names = _names_granted_to(user)
        cached = frozenset(names)
        setattr(user, _CACHE_ATTR, cached)
    return cached


def remember_permissions(user, names: Iterable[str]) -> None:
    """Primes the per-request cache with names fetched alongside the user."""
    if not user.is_superuser:
        setattr(user, _CACHE_ATTR, frozenset(names))


def forget_permissions(user) -> None:
    user.__dict__.pop(_CACHE_ATTR, None)
