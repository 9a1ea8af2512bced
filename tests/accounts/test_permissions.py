import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import Permission, Role, RolePermission
from accounts.services.roles import role_set_permissions, user_set_roles
from core.context import SYSTEM
from core.models import AuditAction, AuditEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _fresh(user):
    """The user as the next request would load it."""
    return type(user).objects.get(pk=user.pk)


def test_sync_permissions_names_every_model_permission_app_label_dot_codename(synced_roles):
    names = set(Permission.objects.values_list("name", flat=True))

    for model in ("billing.invoice", "chat.message", "documents.document", "accounts.user"):
        app_label, model_name = model.split(".")
        for action in ("add", "change", "delete", "view"):
            assert f"{app_label}.{action}_{model_name}" in names


def test_sync_permissions_creates_the_default_roles(synced_roles):
    assert {"admin", "staff", "billing_manager", "member"} <= set(
        Role.objects.values_list("name", flat=True)
    )


def test_sync_permissions_twice_changes_nothing_and_keeps_hand_made_grants(synced_roles):
    member = Role.objects.get(name="member")
    hand_made = Permission.objects.get(name="billing.view_invoice")
    RolePermission.objects.create(role=member, permission=hand_made)
    counts = (Permission.objects.count(), Role.objects.count(), RolePermission.objects.count())

    call_command("sync_permissions", verbosity=0)

    assert (
        Permission.objects.count(),
        Role.objects.count(),
        RolePermission.objects.count(),
    ) == counts
    assert member.permissions.filter(pk=hand_made.pk).exists()


def test_sync_permissions_dry_run_writes_nothing(db):
    call_command("sync_permissions", "--dry-run", verbosity=0)

    assert not Permission.objects.exists()
    assert not Role.objects.exists()


def test_has_perm_follows_role_changes(synced_roles):
    user = UserFactory()
    billing = Role.objects.get(name="billing_manager")

    assert not _fresh(user).has_perm("billing.view_invoice")
    user_set_roles(user=user, roles=[billing], actor=None, context=SYSTEM)
    assert _fresh(user).has_perm("billing.view_invoice")
    assert _fresh(user).has_module_perms("billing")
    user_set_roles(user=user, roles=[], actor=None, context=SYSTEM)
    assert not _fresh(user).has_perm("billing.view_invoice")
    assert not _fresh(user).has_module_perms("billing")


def test_has_perm_follows_changes_to_a_roles_permissions(synced_roles):
    user = UserFactory(roles=["member"])
    member = Role.objects.get(name="member")
    view_invoice = Permission.objects.get(name="billing.view_invoice")

    role_set_permissions(
        role=member,
        permissions=[*member.permissions.all(), view_invoice],
        actor=None,
        context=SYSTEM,
    )

    assert _fresh(user).has_perm("billing.view_invoice")


def test_a_role_change_applies_to_the_same_user_object_at_once(synced_roles):
    user = UserFactory()
    assert not user.has_perm("billing.view_invoice")

    user_set_roles(
        user=user, roles=[Role.objects.get(name="billing_manager")], actor=None, context=SYSTEM
    )

    assert user.has_perm("billing.view_invoice")


def test_superuser_has_every_permission_and_inactive_users_none(synced_roles):
    superuser = UserFactory(is_superuser=True)
    inactive_admin = UserFactory(is_active=False, roles=["admin"])

    assert superuser.has_perm("billing.delete_invoice")
    assert superuser.has_perm("anything.at_all")
    assert not inactive_admin.has_perm("billing.view_invoice")


def test_permissions_are_not_answered_per_object(synced_roles):
    user = UserFactory(roles=["admin"])

    assert user.has_perm("accounts.view_user")
    assert not user.has_perm("accounts.view_user", obj=user)


def test_role_changes_are_audited(synced_roles):
    actor, user = UserFactory(roles=["admin"]), UserFactory()

    user_set_roles(user=user, roles=[Role.objects.get(name="staff")], actor=actor, context=SYSTEM)

    event = AuditEvent.objects.get(action=AuditAction.ROLES_CHANGED)
    assert (event.actor, event.target_id) == (actor, str(user.pk))
    assert (event.before, event.after) == ({"roles": []}, {"roles": ["staff"]})


def test_setting_the_same_roles_again_writes_no_audit_event(synced_roles):
    user = UserFactory(roles=["staff"])

    user_set_roles(user=user, roles=[Role.objects.get(name="staff")], actor=None, context=SYSTEM)

    assert not AuditEvent.objects.exists()


def test_login_is_by_email_whatever_its_case():
    user = UserFactory(email="ana@example.com")

    assert authenticate(username="Ana@Example.com", password=DEFAULT_PASSWORD) == user
    assert authenticate(username="ana@example.com", password="wrong") is None
    assert authenticate(username="nobody@example.com", password=DEFAULT_PASSWORD) is None
