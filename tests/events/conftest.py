import pytest
from django.db import transaction

from accounts.models import Role
from core import events
from core.context import SYSTEM
from tests.factories import UserFactory, UserRoleFactory


@pytest.fixture
def member(synced_roles):
    """Makes a signed-up person: the "member" role, as registration gives it."""
    role = Role.objects.get(name="member")

    def make(**fields):
        user = UserFactory(**fields)
        UserRoleFactory(user=user, role=role)
        return user

    return make


@pytest.fixture
def staff(synced_roles):
    user = UserFactory(is_staff=True)
    UserRoleFactory(user=user, role=Role.objects.get(name="staff"))
    return user


def publish(target, audience: events.Audience, type: str = "thing.happened", actor=None):
    """What a service does: publish inside its own transaction; returns the event id."""
    with transaction.atomic():
        return events.publish(
            type=type,
            target=target,
            audience=audience,
            actor=actor,
            context=SYSTEM,
            payload={"id": str(target.pk)},
        ).event_id
