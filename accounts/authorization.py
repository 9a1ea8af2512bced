"""Who holds which permission: the roles → permissions model, read once per request."""

from collections.abc import Iterable

from django.contrib.postgres.fields import ArrayField
from django.db.models import CharField, QuerySet
from django.db.models.expressions import RawSQL

from .models import Permission

_CACHE_ATTR = "_atrium_permission_names"


def _names_granted_to(user_ref) -> QuerySet:
    return Permission.objects.filter(roles__users=user_ref).values_list("name", flat=True)


def granted_names_of_row_user(table: str) -> RawSQL:
    """The permission names ``table``'s row's ``user_id`` holds through roles, as an array
    column: the credential lookup fetches them with the user, so a permission check costs no
    query of its own. Written as SQL because the ORM's subquery cost more to compile on every
    request than the query it saved (``_names_granted_to`` is the same rule for one user)."""
    # ``table`` is a model's db_table, never input; there are no parameters to inject.
    return RawSQL(  # noqa: S611
        "ARRAY(SELECT p.name FROM permissions p"  # noqa: S608
        " JOIN role_permissions rp ON rp.permission_id = p.id"
        " JOIN user_roles ur ON ur.role_id = rp.role_id"
        f' WHERE ur.user_id = "{table}"."user_id")',
        (),
        output_field=ArrayField(CharField()),
    )


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
