"""Authentication and authorization: one model (roles → permissions) for the admin and the API."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied, ValidationError

from core.api.context import action_context
from core.context import SYSTEM

from .authorization import user_permission_names
from .exceptions import AccountLocked, InvalidCredentials
from .services.login import authenticate_password


class RoleBackend(BaseBackend):
    """Email and password sign-in; permissions from the user's roles."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        """The admin's sign-in: the same check, lockout and audit as the API's."""
        email = kwargs.get(get_user_model().USERNAME_FIELD, username)
        if email is None or password is None:
            return None
        try:
            # Django's authenticate() may be called without a request (a shell, a test).
            context = SYSTEM if request is None else action_context(request)
            return authenticate_password(email=email, password=password, context=context)
        except InvalidCredentials:
            return None
        except AccountLocked as locked:
            # Stops Django from trying further backends; the form shows a generic refusal.
            raise PermissionDenied(locked.detail) from locked

    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(pk=user_id)
        except (user_model.DoesNotExist, ValidationError):
            return None
        return user if user.is_active else None

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        return set(user_permission_names(user_obj)) if obj is None else set()

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)
