"""Who holds which permission: the roles → permissions model, read once per request."""

from .models import Permission

_CACHE_ATTR = "_atrium_permission_names"


def user_permission_names(user) -> frozenset[str]:
    """The ``app_label.codename`` names this user holds through roles (all, for a superuser).

    Cached on the user object, which lives for one request, so a role change applies from
    the caller's next request; services that change roles call ``forget_permissions``.
    """
    if not user.is_active or user.is_anonymous:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        permissions = Permission.objects.all()
        if not user.is_superuser:
            permissions = permissions.filter(roles__users=user)
        cached = frozenset(permissions.values_list("name", flat=True))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_permissions(user) -> None:
    user.__dict__.pop(_CACHE_ATTR, None)
