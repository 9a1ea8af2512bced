"""Every create a client may retry takes ``Idempotency-Key`` (core.services.idempotency), as
payments do: the retry of a request whose answer was lost gets the first answer, marked
replayed, and nothing is written twice; the same key with another body is a 422."""

import pytest

from billing.models import Customer, Invoice, Product
from chat.models import Conversation, Message
from documents.models import Document
from tests.billing.conftest import ROLES
from tests.billing.conftest import client_for as billing_client
from tests.chat.conftest import client_for, member_user
from tests.factories import ConversationFactory, CustomerFactory, ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(synced_roles):
    return member_user("Ana")


@pytest.fixture
def manager(synced_roles):
    return ROLES["billing_manager"]()


@pytest.fixture
def room(member):
    conversation = ConversationFactory()
    ParticipantFactory(conversation=conversation, user=member, role="owner")
    return conversation


def _creates(member, room, manager):
    """(client, path, body, the rows it creates) for each create."""
    customer = CustomerFactory()
    return {
        "message": (
            client_for(member),
            f"/api/v1/conversations/{room.pk}/messages",
            {"content": "Launch at noon"},
            lambda: Message.objects.filter(conversation=room, content="Launch at noon"),
        ),
        "conversation": (
            client_for(member),
            "/api/v1/conversations",
            {"title": "Retro"},
            lambda: Conversation.objects.filter(title="Retro"),
        ),
        "document": (
            client_for(member),
            "/api/v1/documents",
            {"title": "Plan", "content": "one"},
            lambda: Document.objects.filter(title="Plan"),
        ),
        "customer": (
            billing_client(manager),
            "/api/v1/billing/customers",
            {"name": "Acme", "email": "ap@acme.example"},
            lambda: Customer.objects.filter(name="Acme"),
        ),
        "product": (
            billing_client(manager),
            "/api/v1/billing/products",
            {"name": "Seat", "price": "10.00"},
            lambda: Product.objects.filter(name="Seat"),
        ),
        "invoice": (
            billing_client(manager),
            "/api/v1/billing/invoices",
            {"customer": str(customer.pk), "due_date": "2030-01-31T00:00:00Z"},
            lambda: Invoice.objects.filter(customer=customer),
        ),
    }


CREATES = ["message", "conversation", "document", "customer", "product", "invoice"]


@pytest.mark.parametrize("name", CREATES)
def test_a_retried_create_is_answered_once(name, member, room, manager):
    client, path, body, rows = _creates(member, room, manager)[name]

    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"retry-{name}")
    retry = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"retry-{name}")

    assert first.status_code == 201, first.content
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert rows().count() == 1


@pytest.mark.parametrize("name", CREATES)
def test_the_same_key_with_another_body_is_refused(name, member, room, manager):
    client, path, body, rows = _creates(member, room, manager)[name]
    client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k")

    other = client.post(path, {**body, "unexpected": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert other.status_code == 422
    assert [e["field"] for e in other.json()["errors"]] == ["Idempotency-Key"]
    assert rows().count() == 1


def test_without_a_key_each_post_is_a_message(member, room, manager):
    client, path, body, rows = _creates(member, room, manager)["message"]

    assert client.post(path, body, format="json").status_code == 201
    assert client.post(path, body, format="json").status_code == 201
    assert rows().count() == 2


def test_a_replayed_document_keeps_its_etag(member):
    client = client_for(member)
    body = {"title": "Plan", "content": "one"}

    first = client.post("/api/v1/documents", body, format="json", HTTP_IDEMPOTENCY_KEY="d")
    retry = client.post("/api/v1/documents", body, format="json", HTTP_IDEMPOTENCY_KEY="d")

    assert first["ETag"] == retry["ETag"] == '"1"'
