"""Permission classes shared by every API: the roles → permissions model, narrowed by the
credential (an API key's scopes), plus the rule that credentials are managed from a
session."""

from rest_framework.permissions import BasePermission


def request_has_perm(request, perm: str) -> bool:
    """Whether this request may use ``perm``: the user holds it through a role and, when the
    request came with a scoped credential, the credential allows it too."""
    if not request.user.has_perm(perm):
        return False
    allows = getattr(request.auth, "allows", None)
    return allows is None or allows(perm)


class HasActionPermission(BasePermission):
    """Requires an authenticated user and the permission the view's ``action_permissions``
    names for the action (``app_label.codename``; ``None`` for any signed-in user).

    An action the mapping does not name is refused: a new action added without a decision
    about who may call it stays closed rather than open to everyone.
    """

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if view.action == "metadata":  # OPTIONS describes the endpoint; it changes nothing
            return True
        permissions = getattr(view, "action_permissions", {})
        if view.action not in permissions:
            return False
        perm = permissions[view.action]
        return perm is None or request_has_perm(request, perm)


class SessionCredentialOnly(BasePermission):
    """Refuses API keys: creating keys, changing the password or 2FA must come from a person
    who signed in, or a narrow key could mint itself a wider one."""

    message = "This needs a signed-in session; API keys cannot manage credentials."

    def has_permission(self, request, view) -> bool:
        return not getattr(request.auth, "is_api_key", False)
