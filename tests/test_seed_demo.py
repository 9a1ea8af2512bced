from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from billing.models import Invoice, InvoiceStatus, PaymentStatus
from chat.demo import CONVERSATIONS
from chat.models import Conversation, MessageEdit, MessageType
from config.demo import seed_demo
from documents.demo import DOCUMENTS
from documents.models import Document

pytestmark = pytest.mark.django_db

SEEDED_APPS = ("core", "accounts", "chat", "documents", "billing")
SUCCEEDED = Q(payments__status=PaymentStatus.SUCCEEDED)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    # The base manager counts soft-deleted rows too.
    return {
        model._meta.label: model._base_manager.count()
        for app in SEEDED_APPS
        for model in apps.get_app_config(app).get_models()
    }


def test_running_twice_creates_nothing_the_second_time():
    seed()
    after_first = row_counts()

    output = seed()

    assert row_counts() == after_first
    assert "nothing created" in output


def test_the_data_set_fills_every_seeded_table():
    seed()

    empty = {label for label, count in row_counts().items() if count == 0}
    # Nobody has signed in to the demo yet, so there are no sessions or keys, and nobody has
    # set up an authenticator app (its secret would have to be handed out somehow).
    assert empty == {
        "accounts.ApiSession",
        "accounts.ApiKey",
        "accounts.AuthenticatorDevice",
        "accounts.RecoveryCode",
        "accounts.SignInDevice",
        # Written by API requests and provider webhooks, of which a fresh demo has had none.
        "core.IdempotencyKey",
        "billing.WebhookEvent",
    }


def test_demo_admin_signs_in_with_the_demo_password_and_holds_the_admin_role():
    seed()

    user = authenticate(email="admin@atrium.local", password=DEMO_PASSWORD)

    assert user is not None
    assert user.is_staff
    assert not user.is_superuser  # the permission below comes from the role
    assert user.has_perm("billing.view_invoice")


def test_a_rerun_gives_a_demo_account_its_password_and_role_back():
    seed()
    user = User.objects.get(email="billing@atrium.local")
    user.set_password("changed-during-the-demo")
    user.save(update_fields=["password"])
    user.roles.clear()

    seed()

    user = authenticate(email="billing@atrium.local", password=DEMO_PASSWORD)
    assert user is not None
    assert list(user.roles.values_list("name", flat=True)) == ["billing_manager"]


def test_every_demo_document_is_its_newest_version():
    seed()

    documents = Document.objects.prefetch_related("versions")
    assert documents.count() == len(DOCUMENTS)
    for document in documents:
        versions = sorted(document.versions.all(), key=lambda v: v.version)
        assert [v.version for v in versions] == list(range(1, len(versions) + 1))
        assert document.version == len(versions)
        assert document.content == versions[-1].content


def test_a_dry_run_counts_the_documents_it_would_build_through_the_services():
    summary = seed_demo(dry_run=True)

    assert not Document.all_objects.exists()
    assert summary.created["documents"] == len(DOCUMENTS)
    assert summary.created["document versions"] == sum(len(d.sections) for d in DOCUMENTS)
    assert summary.created["document shares"] == sum(len(d.shares) for d in DOCUMENTS)


def test_demo_conversations_are_what_the_chat_services_make():
    seed()

    for conversation in Conversation.objects.prefetch_related("messages", "participant_set"):
        people = conversation.participant_set.all()
        system = [m for m in conversation.messages.all() if m.message_type == MessageType.SYSTEM]
        # Everyone but the creator was added, each with the line the service writes.
        assert len(system) == len(people) - 1
        assert {m.metadata["event_type"] for m in system} == {"participant.added"}
        senders = {m.sender_id for m in conversation.messages.all()}
        assert senders <= {p.user_id for p in people}
    # The first line of each was a draft, edited.
    assert MessageEdit.objects.filter(previous_content__endswith="…").count() == len(CONVERSATIONS)


def test_paid_demo_invoices_are_covered_by_their_succeeded_payments():
    seed()

    paid = Invoice.objects.filter(status=InvoiceStatus.PAID).annotate(
        succeeded=Sum("payments__amount", filter=SUCCEEDED)
    )
    assert paid.exists()
    for invoice in paid:
        assert invoice.succeeded == invoice.amount


def test_some_open_invoices_are_past_due_and_one_is_partly_paid():
    seed()

    open_invoices = Invoice.objects.filter(status=InvoiceStatus.OPEN).annotate(
        succeeded=Sum("payments__amount", filter=SUCCEEDED)
    )
    assert any(invoice.due_date < timezone.now() for invoice in open_invoices)
    assert any(
        invoice.succeeded and Decimal("0") < invoice.succeeded < invoice.amount
        for invoice in open_invoices
    )


def test_dry_run_writes_nothing():
    before = row_counts()

    output = seed("--dry-run")

    assert row_counts() == before
    assert "Would create" in output


def test_the_output_lists_the_demo_logins():
    output = seed()

    assert DEMO_PASSWORD in output
    assert "admin@atrium.local" in output


def test_seed_demo_is_refused_where_settings_do_not_allow_demo_data(db, settings):
    settings.DEMO_DATA_ALLOWED = False

    with pytest.raises(CommandError, match="DEMO_DATA_ALLOWED"):
        call_command("seed_demo", stdout=StringIO())

    assert not User.objects.exists()
