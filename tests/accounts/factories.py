"""Factories of the accounts models added after the foundation."""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import SignInDevice
from tests.factories import UserFactory


class SignInDeviceFactory(DjangoModelFactory):
    class Meta:
        model = SignInDevice

    user = factory.SubFactory(UserFactory)
    family = "Firefox on Linux"
    network = factory.Sequence(lambda n: f"198.51.{n % 256}.0/24")
    last_seen_at = factory.LazyFunction(timezone.now)
