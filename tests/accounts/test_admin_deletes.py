"""Removing roles and accounts in the staff console goes through the accounts services, which
keep a holder of role management (docs/security.md, "Role management keeps a holder"): the
delete page and the bulk "Delete selected" action alike are refused with a message when they
would leave nobody able to hand out access, and nothing is half-removed."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Role, User
from core.models import AuditAction, AuditEvent
from tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

REFUSAL = "This would leave nobody able to manage roles"


@pytest.fixture
def only_admin(client, synced_roles) -> User:
    """The one account that may manage roles, signed in to the console."""
    admin = StaffUserFactory(roles=["admin"])
    client.force_login(admin)
    return admin


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _delete_selected(client, model: str, pks) -> object:
    return client.post(
        reverse(f"admin:accounts_{model}_changelist"),
        {"action": "delete_selected", "_selected_action": [str(pk) for pk in pks], "post": "yes"},
        follow=True,
    )


def test_the_role_that_grants_role_management_cannot_be_deleted_from_its_page(client, only_admin):
    admin_role = Role.objects.get(name="admin")

    response = client.post(
        reverse("admin:accounts_role_delete", args=[admin_role.pk]), {"post": "yes"}, follow=True
    )

    assert response.status_code == 200
    assert any(REFUSAL in message for message in _messages(response))
    assert Role.objects.filter(pk=admin_role.pk).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.ROLE_DELETED).exists()


def test_a_bulk_role_delete_that_includes_it_removes_nothing(client, only_admin):
    spare = Role.objects.create(name="spare")
    admin_role = Role.objects.get(name="admin")

    response = _delete_selected(client, "role", [spare.pk, admin_role.pk])

    assert any(REFUSAL in message for message in _messages(response))
    assert not any("Successfully deleted" in message for message in _messages(response))
    assert Role.objects.filter(pk__in=[spare.pk, admin_role.pk]).count() == 2


def test_roles_are_deleted_in_bulk_while_another_grants_role_management(client, only_admin):
    spare, other = Role.objects.create(name="spare"), Role.objects.create(name="other")

    response = _delete_selected(client, "role", [spare.pk, other.pk])

    assert any("Successfully deleted 2" in message for message in _messages(response))
    assert not Role.objects.filter(pk__in=[spare.pk, other.pk]).exists()
    assert AuditEvent.objects.filter(action=AuditAction.ROLE_DELETED).count() == 2


def test_the_last_holder_cannot_delete_their_own_account(client, only_admin):
    response = client.post(
        reverse("admin:accounts_user_delete", args=[only_admin.pk]), {"post": "yes"}, follow=True
    )

    assert any(REFUSAL in message for message in _messages(response))
    assert User.objects.filter(pk=only_admin.pk).exists()


def test_a_bulk_account_delete_that_would_remove_every_holder_removes_nothing(client, only_admin):
    other_admin = StaffUserFactory(roles=["admin"])
    bystander = UserFactory()

    response = _delete_selected(client, "user", [other_admin.pk, only_admin.pk, bystander.pk])

    assert any(REFUSAL in message for message in _messages(response))
    assert User.objects.filter(pk__in=[other_admin.pk, only_admin.pk, bystander.pk]).count() == 3


def test_accounts_are_deleted_through_the_audited_service(client, only_admin):
    other_admin, bystander = StaffUserFactory(roles=["admin"]), UserFactory()

    response = _delete_selected(client, "user", [other_admin.pk, bystander.pk])

    assert any("Successfully deleted 2" in message for message in _messages(response))
    assert not User.objects.filter(pk__in=[other_admin.pk, bystander.pk]).exists()
    deleted = AuditEvent.objects.filter(action=AuditAction.USER_DELETED, actor=only_admin)
    assert {event.target_id for event in deleted} == {str(other_admin.pk), str(bystander.pk)}
