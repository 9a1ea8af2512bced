"""Factories for the chat models beyond the schema contract's (tests/factories.py has those)."""

import factory
from factory.django import DjangoModelFactory

from chat.models import MessageEdit, MessageReaction
from tests.factories import MessageFactory, UserFactory


class MessageEditFactory(DjangoModelFactory):
    class Meta:
        model = MessageEdit

    message = factory.SubFactory(MessageFactory)
    editor = factory.SelfAttribute("message.sender")
    previous_content = factory.Faker("sentence")


class MessageReactionFactory(DjangoModelFactory):
    class Meta:
        model = MessageReaction

    message = factory.SubFactory(MessageFactory)
    user = factory.SubFactory(UserFactory)
    emoji = "👍"
