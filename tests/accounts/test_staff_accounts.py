"""Accounts staff make and look after, and the rules that hold whoever calls the service (the
API, the admin, the demo data)."""

import pytest
from django.contrib.auth import authenticate

from accounts.models import ApiSession, Role, User
from accounts.services import login, roles, users
from core.context import SYSTEM
from core.exceptions import PermissionDenied, ValidationFailed
from core.models import AuditAction, AuditEvent
from tests.factories import ApiSessionFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a much better passphrase"


def _create(actor, **overrides) -> User:
    fields = {
        "email": "New.Person@Example.COM",
        "password": PASSWORD,
        "display_name": "New Person",
        "roles": [],
        "actor": actor,
        "context": SYSTEM,
    }
    return users.user_create(**{**fields, **overrides})


def test_staff_make_an_account_with_a_profile_and_roles(synced_roles):
    admin = StaffUserFactory(roles=["admin"])

    user = _create(admin, roles=[Role.objects.get(name="member")], bio="Hello", verified=True)

    assert user.email == "New.Person@example.com"
    assert user.verified and user.is_active and not user.is_staff
    assert (user.profile.display_name, user.profile.bio) == ("New Person", "Hello")
    assert list(user.roles.values_list("name", flat=True)) == ["member"]
    assert authenticate(email=user.email, password=PASSWORD) == user
    event = AuditEvent.objects.get(action=AuditAction.USER_CREATED)
    assert (event.actor, event.target_id) == (admin, str(user.pk))


def test_an_address_with_an_account_is_refused_whatever_its_case(synced_roles):
    _create(None)

    with pytest.raises(ValidationFailed) as refused:
        _create(None, email="new.person@example.com")

    assert refused.value.fields == {"email": ["An account with this address exists."]}


def test_an_account_needs_a_display_name_and_a_strong_password():
    with pytest.raises(ValidationFailed) as blank:
        _create(None, display_name="")
    with pytest.raises(ValidationFailed) as weak:
        _create(None, password="short")

    assert set(blank.value.fields) == {"display_name"}
    assert set(weak.value.fields) == {"password"}
    assert not User.objects.exists()


def test_staff_who_may_not_grant_access_cannot_make_staff_or_hand_out_roles(synced_roles):
    support = StaffUserFactory(roles=["staff"])  # may change users, not their access
    member = UserFactory()

    with pytest.raises(PermissionDenied):
        _create(support, is_staff=True)
    with pytest.raises(PermissionDenied):
        users.user_set_status(user=member, actor=support, context=SYSTEM, is_staff=True)
    with pytest.raises(PermissionDenied):
        roles.user_set_roles(
            user=member, roles=[Role.objects.get(name="admin")], actor=support, context=SYSTEM
        )

    member.refresh_from_db()
    assert not member.is_staff
    assert not member.roles.exists()


def test_status_changes_are_audited_and_a_no_op_writes_nothing():
    member = UserFactory(verified=False)

    users.user_set_status(user=member, actor=None, context=SYSTEM, verified=True, is_active=True)
    users.user_set_status(user=member, actor=None, context=SYSTEM, verified=True)

    event = AuditEvent.objects.get(action=AuditAction.USER_UPDATED)
    assert (event.before, event.after) == ({"verified": False}, {"verified": True})
    assert User.objects.get(pk=member.pk).verified


def test_a_password_set_by_staff_ends_every_session():
    member = UserFactory()
    ApiSessionFactory.create_batch(2, user=member)

    users.password_set(user=member, new_password=PASSWORD, actor=None, context=SYSTEM)

    assert authenticate(email=member.email, password=PASSWORD) == member
    assert not ApiSession.objects.filter(user=member).exists()


def test_a_profile_keeps_its_display_name_whoever_edits_it(user):
    with pytest.raises(ValidationFailed) as refused:
        users.profile_update(user=user, display_name="")

    assert set(refused.value.fields) == {"display_name"}
    user.profile.refresh_from_db()
    assert user.profile.display_name == "Ana Souza"


def test_staff_without_the_right_to_grant_access_cannot_act_on_a_staff_account(synced_roles):
    support = StaffUserFactory(roles=["staff"])
    colleague = StaffUserFactory()

    with pytest.raises(PermissionDenied):
        users.password_set(user=colleague, new_password=PASSWORD, actor=support, context=SYSTEM)
    with pytest.raises(PermissionDenied):
        login.user_lock(user=colleague, actor=support, context=SYSTEM)

    assert User.objects.get(pk=colleague.pk).locked_until is None
