"""The credential lookup (accounts/sql.py, written as SQL): it must build what the ORM would."""

import pytest

from accounts import selectors, sql
from accounts.credentials import digest
from accounts.models import ApiKey, ApiSession, User, UserProfile
from accounts.services.credentials import session_create
from core.context import SYSTEM
from tests.factories import (
    ApiKeyFactory,
    PermissionFactory,
    RoleFactory,
    RolePermissionFactory,
    UserFactory,
    UserProfileFactory,
    UserRoleFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "columns"),
    [
        (ApiSession, sql.SESSION_COLUMNS),
        (ApiKey, sql.API_KEY_COLUMNS),
        (User, sql.USER_COLUMNS),
        (UserProfile, sql.PROFILE_COLUMNS),
    ],
)
def test_the_statement_selects_every_column_of_the_model_in_field_order(model, columns):
    assert columns == tuple(field.column for field in model._meta.concrete_fields)


def _granted(user, *names: str) -> None:
    role = RoleFactory()
    for name in names:
        RolePermissionFactory(role=role, permission=PermissionFactory(name=name))
    UserRoleFactory(user=user, role=role)


def test_a_session_comes_with_the_same_user_profile_and_values_as_the_orm_reads():
    user = UserFactory()
    UserProfileFactory(user=user, display_name="Ana", bio="Ops")
    _granted(user, "chat.view_message", "chat.add_message")
    stored, token = session_create(user=user, context=SYSTEM)

    found = selectors.session_for_token(token=token)

    expected = ApiSession.objects.select_related("user", "user__profile").get(pk=stored.pk)
    assert [getattr(found, f.attname) for f in ApiSession._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in ApiSession._meta.concrete_fields
    ]
    assert isinstance(found.metadata, dict)
    assert found.user == user
    assert found.user.email == user.email
    assert found.user.profile.display_name == "Ana"
    assert found.user.profile.user is found.user
    assert found.user.has_perm("chat.add_message")
    assert sorted(found.permission_names) == ["chat.add_message", "chat.view_message"]


def test_a_user_without_a_profile_reads_as_having_none(django_assert_num_queries):
    _, token = session_create(user=UserFactory(), context=SYSTEM)

    found = selectors.session_for_token(token=token)

    with django_assert_num_queries(0):
        assert not hasattr(found.user, "profile")
    assert found.permission_names == []


def test_an_api_key_brings_its_scopes_decoded_and_its_users_permissions():
    user = UserFactory()
    _granted(user, "billing.view_invoice")
    ApiKeyFactory(user=user, key=digest("atr_secret"), scopes=["billing.view_invoice"])

    found = selectors.api_key_for_secret(key="atr_secret")

    assert found.scopes == ["billing.view_invoice"]
    assert found.user == user
    assert found.permission_names == ["billing.view_invoice"]


def test_an_inactive_users_credentials_find_nothing():
    user = UserFactory()
    _, token = session_create(user=user, context=SYSTEM)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert selectors.session_for_token(token=token) is None
