"""An event's payload is its object as the API returns it: for every event type, what the
event carries equals what GET of that object answers right after (to the actor, for the fields
that depend on the caller), read through the API client. Deletions carry ids only."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import credentials
from billing.models import InvoiceStatus
from chat.services import messages, moderation
from core.context import SYSTEM
from core.models import Event
from documents import services as documents
from tests.accounts.conftest import session_token_for
from tests.billing.factories import invoice_with_lines
from tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token_for(user)}")
    return client


@dataclass
class Read:
    """Where the object is read back: ``GET url`` by ``client``; ``pick`` finds the object in a
    list's page (objects without an endpoint of their own: participants, shares, sessions, API
    keys)."""

    client: APIClient
    url: str
    pick: Callable[[Any], Any] | None = None

    def get(self) -> Any:
        response = self.client.get(self.url)
        assert response.status_code == 200, response.content
        body = response.json()
        return body if self.pick is None else self.pick(body)


def item(key: str, value: Any) -> Callable[[Any], Any]:
    def pick(body: Any) -> Any:
        rows = body["results"] if isinstance(body, dict) else body
        (found,) = [row for row in rows if _dig(row, key) == str(value)]
        return found

    return pick


def _dig(row: dict, key: str) -> Any:
    for part in key.split("."):
        row = row[part]
    return row


class World:
    """Who acts: Ana and Ben, members with API clients (chat and documents); a billing
    manager when a case asks for one."""

    def __init__(self) -> None:
        self.ana = UserFactory(roles=["member"])
        self.ben = UserFactory(roles=["member"])
        self.ana_api, self.ben_api = client_for(self.ana), client_for(self.ben)

    def post(self, client: APIClient, url: str, body: dict, status: int = 201, **headers) -> Any:
        response = client.post(f"{API}{url}", body, format="json", **headers)
        assert response.status_code == status, response.content
        return response.json() if response.content else None

    def patch(self, client: APIClient, url: str, body: dict, **headers) -> Any:
        response = client.patch(f"{API}{url}", body, format="json", **headers)
        assert response.status_code == 200, response.content
        return response.json()

    # --- chat ---------------------------------------------------------------------------------
    def conversation(self) -> str:
        body = {"title": "Plans", "participants": [{"user_id": str(self.ben.pk)}]}
        return self.post(self.ana_api, "/conversations", body)["id"]

    def message(self, conversation: str, client: APIClient | None = None) -> str:
        url = f"/conversations/{conversation}/messages"
        return self.post(client or self.ana_api, url, {"content": "Hello"})["id"]

    def message_read(self, conversation: str, message: str) -> Read:
        return Read(self.ana_api, f"{API}/conversations/{conversation}/messages/{message}")

    def conversation_read(self, conversation: str, client: APIClient | None = None) -> Read:
        return Read(client or self.ana_api, f"{API}/conversations/{conversation}")

    # --- documents ----------------------------------------------------------------------------
    def document(self) -> dict:
        return self.post(self.ana_api, "/documents", {"title": "Notes", "content": "First"})

    # --- billing ------------------------------------------------------------------------------
    def billing(self) -> APIClient:
        self.manager = StaffUserFactory(roles=["billing_manager"])
        return client_for(self.manager)


def message_created(w: World) -> Read:
    conversation = w.conversation()
    return w.message_read(conversation, w.message(conversation))


def message_edited(w: World) -> Read:
    conversation = w.conversation()
    message = w.message(conversation)
    w.patch(w.ana_api, f"/conversations/{conversation}/messages/{message}", {"content": "Hi"})
    return w.message_read(conversation, message)


def message_restored(w: World) -> Read:
    conversation = w.conversation()
    message = w.message(conversation)
    staff = StaffUserFactory(roles=["admin"])
    moderation.messages_delete(ids=[message], actor=staff, context=SYSTEM)
    moderation.messages_restore(ids=[message], actor=staff, context=SYSTEM)
    return w.message_read(conversation, message)


def reaction_added(w: World) -> Read:
    conversation = w.conversation()
    message = w.message(conversation)
    url = f"/conversations/{conversation}/messages/{message}/reactions"
    w.post(w.ben_api, url, {"emoji": "👍"})
    w.post(w.ana_api, url, {"emoji": "🎉"})
    # The event's ``me`` is the actor's (Ana's): read as her.
    return w.message_read(conversation, message)


def reaction_removed(w: World) -> Read:
    conversation = w.conversation()
    message = w.message(conversation)
    url = f"/conversations/{conversation}/messages/{message}/reactions"
    w.post(w.ben_api, url, {"emoji": "👍"})
    w.post(w.ana_api, url, {"emoji": "👍"})
    response = w.ana_api.delete(f"{API}{url}/👍")
    assert response.status_code == 204
    return w.message_read(conversation, message)


def conversation_updated(w: World) -> Read:
    conversation = w.conversation()
    w.message(conversation, w.ben_api)  # something unread for Ana
    w.patch(w.ana_api, f"/conversations/{conversation}", {"title": "New plans"})
    return w.conversation_read(conversation)


def conversation_read(w: World) -> Read:
    conversation = w.conversation()
    w.message(conversation, w.ben_api)
    last = w.message(conversation, w.ben_api)
    w.post(w.ana_api, f"/conversations/{conversation}/read", {"message_id": last}, status=200)
    return w.conversation_read(conversation)


def conversation_restored(w: World) -> Read:
    conversation = w.conversation()
    staff = StaffUserFactory(roles=["admin"])
    moderation.conversations_delete(ids=[conversation], actor=staff, context=SYSTEM)
    moderation.conversations_restore(ids=[conversation], actor=staff, context=SYSTEM)
    # Staff are not in it: the event shows it as its owner, Ana, sees it.
    return w.conversation_read(conversation)


def participant_added(w: World) -> Read:
    conversation = w.conversation()
    cleo = UserFactory(roles=["member"])
    w.post(w.ana_api, f"/conversations/{conversation}/participants", {"user_id": str(cleo.pk)})
    url = f"{API}/conversations/{conversation}/participants"
    return Read(w.ana_api, url, item("user_id", cleo.pk))


def participant_role_changed(w: World) -> Read:
    conversation = w.conversation()
    url = f"/conversations/{conversation}/participants"
    w.patch(w.ana_api, f"{url}/{w.ben.pk}", {"role": "admin"})
    return Read(w.ana_api, f"{API}{url}", item("user_id", w.ben.pk))


def document_created(w: World) -> Read:
    return Read(w.ana_api, f"{API}/documents/{w.document()['id']}")


def document_updated(w: World) -> Read:
    document = w.document()["id"]
    w.post(
        w.ana_api,
        f"/documents/{document}/shares",
        {"user_id": str(w.ben.pk), "permission_level": "editor"},
    )
    # Ben edits: the event's ``access`` is his.
    w.patch(w.ben_api, f"/documents/{document}", {"content": "Second"}, HTTP_IF_MATCH='"1"')
    return Read(w.ben_api, f"{API}/documents/{document}")


def document_restored(w: World) -> Read:
    document = w.document()["id"]
    response = w.ana_api.delete(f"{API}/documents/{document}", HTTP_IF_MATCH='"1"')
    assert response.status_code == 204, response.content
    w.post(w.ana_api, f"/documents/{document}/restore", {}, status=200)
    return Read(w.ana_api, f"{API}/documents/{document}")


def document_restored_by_staff(w: World) -> Read:
    document = w.document()["id"]
    staff = StaffUserFactory(roles=["admin"])
    documents.document_moderate_delete(actor=staff, document_id=document, context=SYSTEM)
    documents.document_moderate_restore(actor=staff, document_id=document, context=SYSTEM)
    # Staff may not open it: the event shows it as its owner sees it.
    return Read(w.ana_api, f"{API}/documents/{document}")


def share_granted(w: World) -> Read:
    document = w.document()["id"]
    expires = (timezone.now() + timedelta(days=3)).isoformat()
    body = {"user_id": str(w.ben.pk), "permission_level": "viewer", "expires_at": expires}
    w.post(w.ana_api, f"/documents/{document}/shares", body)
    return Read(w.ana_api, f"{API}/documents/{document}/shares", item("user.id", w.ben.pk))


def share_changed(w: World) -> Read:
    document = w.document()["id"]
    url = f"/documents/{document}/shares"
    w.post(w.ana_api, url, {"user_id": str(w.ben.pk), "permission_level": "viewer"})
    w.patch(w.ana_api, f"{url}/{w.ben.pk}", {"permission_level": "commenter"})
    return Read(w.ana_api, f"{API}{url}", item("user.id", w.ben.pk))


def _open_invoice(w: World, api: APIClient) -> str:
    invoice = invoice_with_lines(status=InvoiceStatus.DRAFT, amount=Decimal("40.00"))
    w.post(api, f"/billing/invoices/{invoice.pk}/finalize", {}, status=200)
    return str(invoice.pk)


def invoice_finalized(w: World) -> Read:
    api = w.billing()
    return Read(api, f"{API}/billing/invoices/{_open_invoice(w, api)}")


def invoice_closed(action: str) -> Callable[[World], Read]:
    def close(w: World) -> Read:
        api = w.billing()
        invoice = _open_invoice(w, api)
        w.post(api, f"/billing/invoices/{invoice}/{action}", {}, status=200)
        return Read(api, f"{API}/billing/invoices/{invoice}")

    return close


def _paid(w: World, api: APIClient, amount: str = "40.00") -> tuple[str, str]:
    invoice = _open_invoice(w, api)
    body = {"invoice": invoice, "amount": amount, "provider": "manual"}
    return invoice, w.post(api, "/billing/payments", body)["id"]


def invoice_paid(w: World) -> Read:
    api = w.billing()
    invoice, _ = _paid(w, api)
    return Read(api, f"{API}/billing/invoices/{invoice}")


def invoice_reopened(w: World) -> Read:
    api = w.billing()
    invoice, payment = _paid(w, api)
    w.post(api, f"/billing/payments/{payment}/refund", {"amount": "10.00"})
    return Read(api, f"{API}/billing/invoices/{invoice}")


def payment_recorded(w: World) -> Read:
    api = w.billing()
    _, payment = _paid(w, api, amount="15.00")
    return Read(api, f"{API}/billing/payments/{payment}")


def payment_refunded(w: World) -> Read:
    api = w.billing()
    _, payment = _paid(w, api)
    w.post(api, f"/billing/payments/{payment}/refund", {"amount": "10.00"})
    return Read(api, f"{API}/billing/payments/{payment}")


def credit_note_issued(w: World) -> Read:
    api = w.billing()
    invoice = _open_invoice(w, api)
    body = {"reason": "Goodwill", "amount": "5.00"}
    note = w.post(api, f"/billing/invoices/{invoice}/credit-notes", body)["id"]
    return Read(api, f"{API}/billing/credit-notes/{note}")


def session_created(w: World) -> Read:
    session, token = credentials.session_create(user=w.ana, context=SYSTEM)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    # The event shows the session as seen by itself (``current`` true).
    return Read(client, f"{API}/me/sessions", item("id", session.pk))


def api_key_created(w: World) -> Read:
    body = {"name": "CI", "scopes": ["chat.view_conversation"]}
    key = w.post(w.ana_api, "/me/api-keys", body)["id"]
    return Read(w.ana_api, f"{API}/me/api-keys", item("id", key))


def _webhooks(w: World, url: str) -> tuple[APIClient, str]:
    api = client_for(StaffUserFactory(roles=["admin"]))
    created = w.post(api, "/webhook-endpoints", {"url": url, "events": ["session.created"]})
    return api, created["id"]


def webhook_endpoint_created(w: World) -> Read:
    api, endpoint = _webhooks(w, "http://127.0.0.1:8119/hook")
    return Read(api, f"{API}/webhook-endpoints/{endpoint}")


def webhook_endpoint_updated(w: World) -> Read:
    api, endpoint = _webhooks(w, "http://127.0.0.1:8119/hook")
    w.patch(api, f"/webhook-endpoints/{endpoint}", {"description": "Ours"})
    return Read(api, f"{API}/webhook-endpoints/{endpoint}")


def webhook_endpoint_secret_rotated(w: World) -> Read:
    api, endpoint = _webhooks(w, "http://127.0.0.1:8119/hook")
    w.post(api, f"/webhook-endpoints/{endpoint}/rotate-secret", {}, status=200)
    return Read(api, f"{API}/webhook-endpoints/{endpoint}")


CASES = {
    "message.created": message_created,
    "message.edited": message_edited,
    "message.restored": message_restored,
    "reaction.added": reaction_added,
    "reaction.removed": reaction_removed,
    "conversation.updated": conversation_updated,
    "conversation.read": conversation_read,
    "conversation.restored": conversation_restored,
    "participant.added": participant_added,
    "participant.role_changed": participant_role_changed,
    "document.created": document_created,
    "document.updated": document_updated,
    "document.restored": document_restored,
    "document.restored (staff)": document_restored_by_staff,
    "share.granted": share_granted,
    "share.changed": share_changed,
    "invoice.finalized": invoice_finalized,
    "invoice.voided": invoice_closed("void"),
    "invoice.marked_uncollectible": invoice_closed("mark-uncollectible"),
    "invoice.paid": invoice_paid,
    "invoice.reopened": invoice_reopened,
    "payment.recorded": payment_recorded,
    "payment.refunded": payment_refunded,
    "credit_note.issued": credit_note_issued,
    "session.created": session_created,
    "api_key.created": api_key_created,
    "webhook_endpoint.created": webhook_endpoint_created,
    "webhook_endpoint.updated": webhook_endpoint_updated,
    "webhook_endpoint.secret_rotated": webhook_endpoint_secret_rotated,
}


@pytest.mark.parametrize("case", CASES)
def test_the_payload_is_what_get_returns_right_after(synced_roles, case):
    world = World()
    read = CASES[case](world)
    type = case.split(" ")[0]

    # The newest of the type; share events go to two audiences with one payload.
    newest = Event.objects.filter(type=type).order_by("-id").first()
    assert newest is not None, f"No {type} event."
    assert newest.payload == read.get()


def test_a_deletion_names_what_went_and_its_parents(synced_roles):
    w = World()
    conversation = w.conversation()
    message = w.message(conversation)
    assert (
        w.ana_api.delete(f"{API}/conversations/{conversation}/messages/{message}").status_code
        == 204
    )
    url = f"{API}/conversations/{conversation}/participants/{w.ben.pk}"
    assert w.ana_api.delete(url).status_code == 204
    document = w.document()["id"]
    shares = f"/documents/{document}/shares"
    w.post(w.ana_api, shares, {"user_id": str(w.ben.pk), "permission_level": "viewer"})
    assert w.ana_api.delete(f"{API}{shares}/{w.ben.pk}").status_code == 204
    response = w.ana_api.delete(f"{API}/documents/{document}", HTTP_IF_MATCH='"1"')
    assert response.status_code == 204
    key = w.post(w.ana_api, "/me/api-keys", {"name": "CI", "scopes": []})["id"]
    assert w.ana_api.delete(f"{API}/me/api-keys/{key}").status_code == 204
    assert w.ana_api.delete(f"{API}/conversations/{conversation}").status_code == 204
    api, endpoint = _webhooks(w, "http://127.0.0.1:8119/hook")
    assert api.delete(f"{API}/webhook-endpoints/{endpoint}").status_code == 204

    def last(type: str) -> dict:
        return Event.objects.filter(type=type).order_by("-id").first().payload  # type: ignore[union-attr]

    assert last("message.deleted") == {"id": message, "conversation_id": conversation}
    assert last("participant.removed") == {
        "conversation_id": conversation,
        "user_id": str(w.ben.pk),
    }
    assert last("share.revoked") == {"document_id": document, "user_id": str(w.ben.pk)}
    assert last("document.deleted") == {"id": document}
    assert last("api_key.revoked") == {"id": key}
    assert last("conversation.deleted") == {"id": conversation}
    assert last("webhook_endpoint.deleted") == {"id": endpoint}


def test_a_posted_message_costs_no_query_for_its_payload(synced_roles, django_assert_num_queries):
    w = World()
    conversation = w.conversation()

    # The conversation's lock and clock, the INSERT (which returns the message's JSON), the
    # read mark, the event, inside the savepoint the test's transaction makes of the service's
    # own: nothing reads the message back for the payload.
    with django_assert_num_queries(6) as captured:
        messages.message_post(
            conversation_id=conversation, sender=w.ana, content="Hi", context=SYSTEM
        )

    statements = [query["sql"].split()[0] for query in captured.captured_queries]
    assert statements == ["SAVEPOINT", "UPDATE", "INSERT", "UPDATE", "INSERT", "RELEASE"]
