"""factory-boy factories for every model; tests build their data here."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import (
    ApiKey,
    ApiSession,
    AuthenticatorDevice,
    Permission,
    RecoveryCode,
    Role,
    RolePermission,
    User,
    UserProfile,
    UserRole,
)
from billing.models import (
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Product,
)
from chat.models import Conversation, Message, MessageType, Participant, ParticipantRole
from core import crypto
from core.models import AuditAction, AuditEvent, IdempotencyKey
from documents.models import Document, DocumentShare, DocumentVersion, ShareLevel

DEFAULT_PASSWORD = "correct horse battery staple"


def _digest(n: int) -> str:
    return f"{n:064x}"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    verified = True
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        """``UserFactory(roles=["staff"])`` gives the user those roles, creating them."""
        if create and extracted:
            for name in extracted:
                role = name if isinstance(name, Role) else Role.objects.get_or_create(name=name)[0]
                UserRole.objects.get_or_create(user=self, role=role)


class StaffUserFactory(UserFactory):
    is_staff = True


class UserProfileFactory(DjangoModelFactory):
    class Meta:
        model = UserProfile

    user = factory.SubFactory(UserFactory)
    display_name = factory.Faker("name")
    bio = factory.Faker("sentence")


class PermissionFactory(DjangoModelFactory):
    class Meta:
        model = Permission
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tests.do_thing_{n}")
    description = factory.LazyAttribute(lambda o: f"Can {o.name.rpartition('.')[2]}")


class RoleFactory(DjangoModelFactory):
    class Meta:
        model = Role
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"role-{n}")


class RolePermissionFactory(DjangoModelFactory):
    class Meta:
        model = RolePermission

    role = factory.SubFactory(RoleFactory)
    permission = factory.SubFactory(PermissionFactory)


class UserRoleFactory(DjangoModelFactory):
    class Meta:
        model = UserRole

    user = factory.SubFactory(UserFactory)
    role = factory.SubFactory(RoleFactory)


class ApiSessionFactory(DjangoModelFactory):
    class Meta:
        model = ApiSession

    user = factory.SubFactory(UserFactory)
    token = factory.Sequence(_digest)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))
    metadata = factory.Dict({"ip": "127.0.0.1", "user_agent": "pytest"})


class ApiKeyFactory(DjangoModelFactory):
    class Meta:
        model = ApiKey

    user = factory.SubFactory(UserFactory)
    key = factory.Sequence(lambda n: _digest(n + 10**9))
    name = factory.Sequence(lambda n: f"key {n}")


class AuthenticatorDeviceFactory(DjangoModelFactory):
    class Meta:
        model = AuthenticatorDevice

    # The device's secret is its user's, stored encrypted (accounts.services.two_factor).
    user = factory.SubFactory(
        UserFactory,
        totp_enabled=True,
        totp_secret=factory.LazyFunction(lambda: crypto.encrypt("JBSWY3DPEHPK3PXPJBSWY3DP")),
    )
    name = "Authenticator app"


class RecoveryCodeFactory(DjangoModelFactory):
    class Meta:
        model = RecoveryCode

    user = factory.SubFactory(UserFactory)
    code_hash = factory.Sequence(lambda n: _digest(n + 2 * 10**9))


class ConversationFactory(DjangoModelFactory):
    class Meta:
        model = Conversation

    title = factory.Faker("catch_phrase")


class ParticipantFactory(DjangoModelFactory):
    class Meta:
        model = Participant

    conversation = factory.SubFactory(ConversationFactory)
    user = factory.SubFactory(UserFactory)
    role = ParticipantRole.MEMBER


class MessageFactory(DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    sender = factory.SubFactory(UserFactory)
    content = factory.Faker("sentence")
    message_type = MessageType.TEXT


class DocumentFactory(DjangoModelFactory):
    class Meta:
        model = Document

    owner = factory.SubFactory(UserFactory)
    title = factory.Faker("sentence", nb_words=4)
    content = factory.Faker("paragraph")


class DocumentVersionFactory(DjangoModelFactory):
    class Meta:
        model = DocumentVersion

    document = factory.SubFactory(DocumentFactory)
    version = factory.Sequence(lambda n: n + 1)
    content = factory.Faker("paragraph")
    created_by = factory.SelfAttribute("document.owner")


class DocumentShareFactory(DjangoModelFactory):
    class Meta:
        model = DocumentShare

    document = factory.SubFactory(DocumentFactory)
    user = factory.SubFactory(UserFactory)
    permission_level = ShareLevel.VIEWER


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("company")
    email = factory.Sequence(lambda n: f"billing{n}@customer.example")
    phone = factory.Faker("numerify", text="+1 555 ### ####")
    address = factory.Faker("address")


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("49.00")


class InvoiceFactory(DjangoModelFactory):
    class Meta:
        model = Invoice

    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("100.00")
    status = InvoiceStatus.DRAFT
    due_date = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    # Finalized invoices carry a number; the year 1999 keeps these clear of real numbering.
    number = factory.LazyAttributeSequence(
        lambda invoice, n: None if invoice.status == InvoiceStatus.DRAFT else f"INV-1999-{n:06d}"
    )


class PaymentFactory(DjangoModelFactory):
    class Meta:
        model = Payment

    invoice = factory.SubFactory(InvoiceFactory, status=InvoiceStatus.OPEN)
    amount = Decimal("25.00")
    status = PaymentStatus.SUCCEEDED
    provider = PaymentProvider.MANUAL


class AuditEventFactory(DjangoModelFactory):
    class Meta:
        model = AuditEvent

    action = AuditAction.LOGIN_SUCCEEDED
    actor = factory.SubFactory(UserFactory)
    ip_address = "127.0.0.1"
    user_agent = "pytest"


class IdempotencyKeyFactory(DjangoModelFactory):
    class Meta:
        model = IdempotencyKey

    user = factory.SubFactory(UserFactory)
    key = factory.Sequence(lambda n: f"key-{n}")
    fingerprint = "0" * 64
