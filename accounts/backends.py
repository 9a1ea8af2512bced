"""Authentication and authorization: one model (roles → permissions) for the admin and the API."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend

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


class RoleBackend(BaseBackend):
    """Email and password sign-in; permissions from the user's roles."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user_model = get_user_model()
        email = kwargs.get(user_model.USERNAME_FIELD, username)
        if email is None or password is None:
            return None
        try:
            user = user_model._default_manager.get_by_natural_key(email)
        except user_model.DoesNotExist:
            # Hash anyway so an unknown email costs as long as a wrong password.
            user_model().set_password(password)
            return None
        if user.check_password(password) and user.is_active:
            return user
        return None

    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(pk=user_id)
        except (user_model.DoesNotExist, ValueError):
            return None
        return user if user.is_active else None

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        return set(user_permission_names(user_obj)) if obj is None else set()

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)
