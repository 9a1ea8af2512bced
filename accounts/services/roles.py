"""The permission catalogue, the default roles, and who holds which role."""

import fnmatch
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth.models import Permission as DjangoPermission
from django.db import transaction
from django.db.models import Q

from accounts.authorization import forget_permissions
from accounts.models import Permission, Role, RolePermission, User, UserRole
from accounts.roles import DEFAULT_ROLES
from core import audit
from core.context import ActionContext
from core.exceptions import Conflict, PermissionDenied
from core.models import AuditAction


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


@transaction.atomic(durable=True)
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


def require_grant_right(actor: User | None, perm: str) -> None:
    """Handing out access is a right of its own: whoever may merely edit accounts must not be
    able to make themselves an admin. None is the system (commands, demo data)."""
    if actor is not None and not actor.has_perm(perm):
        raise PermissionDenied("You may not hand out access.")


def require_may_change_account(actor: User | None, user: User) -> None:
    """Staff acting on someone's account need the right to change accounts, and for a staff
    account the right to hand out access too: taking a staff account over is as good as
    making oneself staff. None is the system."""
    if actor is None:
        return
    if not actor.has_perm("accounts.change_user"):
        raise PermissionDenied("You may not change this account.")
    if user.is_staff:
        require_grant_right(actor, "accounts.change_userrole")


# Whoever holds this may change any role's permissions, and so give themselves (or anyone)
# every other right: while one active account holds it, access can always be repaired.
ROLE_MANAGEMENT = "accounts.change_rolepermission"


class RoleManagementGuard:
    """Refuses a change that takes role management from its last holder, as a conversation
    keeps its last owner: an admin could otherwise strip the admin role, or their own
    account, and leave nobody able to hand out access again (short of a shell).

    Enter it before the change and call ``check()`` after: the row lock on the permission
    makes concurrent changes wait for each other, so two admins removing each other at once
    cannot both succeed. Where nobody held it to begin with (a fresh database) nothing is
    refused."""

    def __init__(self) -> None:
        locked = Permission.objects.select_for_update().filter(name=ROLE_MANAGEMENT)
        self.held_before = locked.exists() and self._holders() > 0

    @staticmethod
    def _holders() -> int:
        return (
            User.objects.filter(is_active=True)
            .filter(Q(is_superuser=True) | Q(roles__permissions__name=ROLE_MANAGEMENT))
            .distinct()
            .count()
        )

    def check(self) -> None:
        if self.held_before and self._holders() == 0:
            raise Conflict(
                "This would leave nobody able to manage roles; give another active account "
                f"{ROLE_MANAGEMENT} first.",
                code="last_role_manager",
            )


# A join table with a composite primary key (owner, target).
Link = TypeVar("Link", UserRole, RolePermission)


def _replace_links(
    through: type[Link],
    *,
    owner_field: str,
    owner: User | Role,
    target_field: str,
    wanted: set[uuid.UUID],
) -> bool:
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


def assign_roles(
    *, user: User, roles: list[Role], actor: User | None, context: ActionContext
) -> None:
    """Makes ``roles`` exactly the user's roles and records the change; runs inside the
    caller's transaction (creating an account gives it its roles in the same one)."""
    require_grant_right(actor, "accounts.change_userrole")
    # Lock the user row so two concurrent edits of one user's roles serialise and the audit
    # event's "before" is what the change replaced.
    User.objects.select_for_update().filter(pk=user.pk).first()
    guard = RoleManagementGuard()
    before = sorted(user.roles.values_list("name", flat=True))
    wanted = {role.pk for role in roles}
    if not _replace_links(
        UserRole, owner_field="user", owner=user, target_field="role", wanted=wanted
    ):
        return
    guard.check()
    forget_permissions(user)
    audit.record(
        action=AuditAction.ROLES_CHANGED,
        actor=actor,
        target=user,
        before={"roles": before},
        after={"roles": sorted(role.name for role in roles)},
        context=context,
    )


@transaction.atomic(durable=True)
def user_set_roles(
    *, user: User, roles: list[Role], actor: User | None, context: ActionContext
) -> None:
    """Makes ``roles`` exactly the user's roles and records the change."""
    assign_roles(user=user, roles=roles, actor=actor, context=context)


@transaction.atomic(durable=True)
def role_set_permissions(
    *, role: Role, permissions: list[Permission], actor: User | None, context: ActionContext
) -> None:
    """Makes ``permissions`` exactly the role's grants and records the change."""
    require_grant_right(actor, "accounts.change_rolepermission")
    Role.objects.select_for_update().filter(pk=role.pk).first()
    guard = RoleManagementGuard()
    before = sorted(role.permissions.values_list("name", flat=True))
    wanted = {permission.pk for permission in permissions}
    if not _replace_links(
        RolePermission, owner_field="role", owner=role, target_field="permission", wanted=wanted
    ):
        return
    guard.check()
    audit.record(
        action=AuditAction.ROLE_PERMISSIONS_CHANGED,
        actor=actor,
        target=role,
        before={"permissions": before},
        after={"permissions": sorted(p.name for p in permissions)},
        context=context,
    )


def _require_role_right(actor: User | None) -> None:
    # Making, renaming and removing roles shapes who may do what: the same right as
    # deciding what a role grants.
    require_grant_right(actor, "accounts.change_rolepermission")


@transaction.atomic(durable=True)
def role_create(*, name: str, actor: User | None, context: ActionContext) -> Role:
    """A new role granting nothing yet."""
    _require_role_right(actor)
    role = Role.objects.create(name=name)
    audit.record(
        action=AuditAction.ROLE_CREATED,
        actor=actor,
        target=role,
        after={"name": name},
        context=context,
    )
    return role


@transaction.atomic(durable=True)
def role_rename(*, role: Role, name: str, actor: User | None, context: ActionContext) -> Role:
    _require_role_right(actor)
    stored = Role.objects.select_for_update().get(pk=role.pk)
    if stored.name == name:
        return role
    Role.objects.filter(pk=role.pk).update(name=name)
    role.name = name
    audit.record(
        action=AuditAction.ROLE_RENAMED,
        actor=actor,
        target=role,
        before={"name": stored.name},
        after={"name": name},
        context=context,
    )
    return role


@transaction.atomic(durable=True)
def role_delete(*, roles: Sequence[Role], actor: User | None, context: ActionContext) -> None:
    """Removes the roles, all or none, and with them what each granted to its holders
    (recorded per role: who held it, what it granted). Refused when it would leave nobody
    able to manage roles (``RoleManagementGuard``)."""
    _require_role_right(actor)
    require_grant_right(actor, "accounts.change_userrole")
    guard = RoleManagementGuard()
    locked = list(
        Role.objects.select_for_update().filter(pk__in=[role.pk for role in roles]).order_by("pk")
    )
    for role in locked:
        before = {
            "name": role.name,
            "permissions": sorted(role.permissions.values_list("name", flat=True)),
            "users": list(
                User.objects.filter(roles=role).order_by("email").values_list("email", flat=True)
            ),
        }
        audit.record(
            action=AuditAction.ROLE_DELETED,
            actor=actor,
            target=role,
            before=before,
            context=context,
        )
    Role.objects.filter(pk__in=[role.pk for role in locked]).delete()
    guard.check()
