"""The staff console: who may open what, that its writes go through the services, and that
its lists stay cheap however many rows there are."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiKey, ApiSession, Permission, Role, User, UserProfile
from billing.models import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceSend,
    InvoiceStatus,
    Payment,
    Product,
)
from chat.models import Conversation, Message
from core.admin import CappedCountPaginator, LargeTableAdminMixin
from core.models import AuditAction, AuditEvent, Event
from documents.models import Document, DocumentShare, DocumentVersion
from tests import factories
from tests.billing import factories as billing_factories
from tests.events.factories import EventFactory

APPS = {"core", "accounts", "chat", "documents", "billing"}
REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label in APPS),
    key=lambda model: model._meta.label,
)
LARGE_TABLES = [
    model for model in REGISTERED if isinstance(admin.site._registry[model], LargeTableAdminMixin)
]
SOFT_DELETABLE = [Conversation, Message, Document, Customer, Product]
# Rows that only a service or a command creates (it sets up owners and versions, shows a
# secret once, or writes an audit event) have no add page.
NO_ADD_PAGE = {
    AuditEvent,
    Event,
    Permission,
    UserProfile,
    ApiSession,
    ApiKey,
    Conversation,
    Message,
    Document,
    DocumentVersion,
    DocumentShare,
    Payment,
    InvoiceSend,
}
STRONG_PASSWORD = "a long and unguessable passphrase"


def by_label(model) -> str:
    return model._meta.label


def factory_for(model):
    if model is Event:  # the event log's factory lives with its tests
        return EventFactory
    if model in (CreditNote, InvoiceSend):  # as do billing's models added later
        return getattr(billing_factories, f"{model.__name__}Factory")
    return getattr(factories, f"{model.__name__}Factory")


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(response) -> dict:
    """What a browser posts back from an admin change page when nothing is edited."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None:
                data[form[name].html_name] = value
    return data


@pytest.fixture
def login_staff(client, synced_roles):
    """Signs a staff user with the given default roles into the test client."""

    def login(*roles: str) -> User:
        user = factories.StaffUserFactory(roles=list(roles))
        client.force_login(user)
        return user

    return login


@pytest.mark.parametrize("model", REGISTERED, ids=by_label)
def test_admin_role_opens_every_changelist_and_change_page(model, client, login_staff):
    login_staff("admin")
    obj = factory_for(model)()

    assert client.get(admin_url(model, "changelist")).status_code == 200
    assert client.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=by_label)
def test_admin_role_opens_the_add_page_where_adding_is_allowed(model, client, login_staff):
    login_staff("admin")

    response = client.get(admin_url(model, "add"))

    assert response.status_code == (403 if model in NO_ADD_PAGE else 200)


@pytest.mark.parametrize("model", REGISTERED, ids=by_label)
def test_staff_without_a_role_is_refused(model, client, login_staff):
    login_staff()
    obj = factory_for(model)()

    assert client.get(admin_url(model, "changelist")).status_code == 403
    assert client.get(admin_url(model, "change", obj.pk)).status_code == 403


@pytest.mark.parametrize("model", [Customer, Product, Invoice, Payment], ids=by_label)
def test_billing_manager_opens_billing_lists(model, client, login_staff):
    login_staff("billing_manager")

    assert client.get(admin_url(model, "changelist")).status_code == 200


def test_billing_manager_is_refused_the_user_list(client, login_staff):
    login_staff("billing_manager")

    assert client.get(admin_url(User, "changelist")).status_code == 403


def test_user_add_page_creates_an_email_login_whose_password_works(client, login_staff):
    login_staff("admin")

    response = client.post(
        admin_url(User, "add"),
        {
            "email": "new.person@example.com",
            "usable_password": "true",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert User.objects.get(email="new.person@example.com").check_password(STRONG_PASSWORD)


def test_user_add_page_refuses_an_email_taken_in_another_case(client, login_staff):
    login_staff("admin")
    factories.UserFactory(email="taken@example.com")

    response = client.post(
        admin_url(User, "add"),
        {
            "email": "TAKEN@example.com",
            "usable_password": "true",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_changing_roles_on_the_user_page_is_recorded_by_the_service(client, login_staff):
    admin_user = login_staff("admin")
    user = factories.UserFactory(roles=["member"])
    url = admin_url(User, "change", user.pk)
    data = form_data(client.get(url))
    data["assigned_roles"] = [Role.objects.get(name="staff").pk]

    response = client.post(url, data)

    assert response.status_code == 302
    assert list(user.roles.values_list("name", flat=True)) == ["staff"]
    event = AuditEvent.objects.get(action=AuditAction.ROLES_CHANGED, target_id=str(user.pk))
    assert event.actor == admin_user
    assert event.before == {"roles": ["member"]}
    assert event.after == {"roles": ["staff"]}


def test_staff_who_may_edit_accounts_cannot_grant_access(client, login_staff):
    login_staff("staff")
    member = factories.UserFactory(roles=["member"])
    url = admin_url(User, "change", member.pk)
    data = form_data(client.get(url))
    data.update(
        assigned_roles=[Role.objects.get(name="admin").pk], is_staff=True, is_superuser=True
    )

    response = client.post(url, data)

    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.is_staff
    assert not member.is_superuser
    assert list(member.roles.values_list("name", flat=True)) == ["member"]


def test_staff_who_may_edit_accounts_cannot_take_over_a_staff_account(client, login_staff):
    login_staff("staff")
    admin_user = factories.StaffUserFactory(roles=["admin"])
    url = admin_url(User, "change", admin_user.pk)

    assert client.get(url).status_code == 200
    assert client.post(url, form_data(client.get(url))).status_code == 403
    # UserAdmin names this URL after auth.User whatever the user model.
    password_url = reverse("admin:auth_user_password_change", args=[admin_user.pk])
    assert client.get(password_url).status_code == 403


def test_changing_permissions_on_the_role_page_is_recorded_by_the_service(client, login_staff):
    login_staff("admin")
    role = factories.RoleFactory(name="support")
    permission = Permission.objects.get(name="chat.view_message")
    url = admin_url(Role, "change", role.pk)
    data = form_data(client.get(url))
    data["granted_permissions"] = [permission.pk]

    response = client.post(url, data)

    assert response.status_code == 302
    assert list(role.permissions.all()) == [permission]
    assert AuditEvent.objects.filter(
        action=AuditAction.ROLE_PERMISSIONS_CHANGED, target_id=str(role.pk)
    ).exists()


def test_user_page_shows_2fa_state_but_no_secret(client, login_staff):
    login_staff("admin")
    user = factories.UserFactory(totp_enabled=True, totp_secret="KEEP-THIS-SECRET")
    session = factories.ApiSessionFactory(user=user)
    api_key = factories.ApiKeyFactory(user=user)

    page = client.get(admin_url(User, "change", user.pk)).content.decode()

    assert "field-totp_enabled" in page
    assert "KEEP-THIS-SECRET" not in page
    assert session.token not in page
    assert api_key.key not in page
    assert api_key.name in page


@pytest.mark.parametrize(
    ("factory", "digest"),
    [(factories.ApiSessionFactory, "token"), (factories.ApiKeyFactory, "key")],
    ids=["session", "api key"],
)
def test_credential_pages_never_show_the_digest(factory, digest, client, login_staff):
    login_staff("admin")
    credential = factory()
    model = type(credential)

    for url in (admin_url(model, "changelist"), admin_url(model, "change", credential.pk)):
        assert getattr(credential, digest) not in client.get(url).content.decode()


@pytest.mark.parametrize("model", SOFT_DELETABLE, ids=by_label)
def test_restore_action_brings_back_a_soft_deleted_row(model, client, login_staff):
    login_staff("admin")
    row = factory_for(model)()
    model.objects.filter(pk=row.pk).soft_delete()

    response = client.post(
        admin_url(model, "changelist") + "?deleted=deleted",
        {"action": "restore_selected", "_selected_action": [row.pk]},
    )

    assert response.status_code == 302
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    ("choice", "shown"),
    [(None, {"live"}), ("deleted", {"deleted"}), ("all", {"live", "deleted"})],
    ids=["default", "deleted", "all"],
)
def test_deleted_filter_lists_live_deleted_or_all_rows(choice, shown, client, login_staff):
    login_staff("admin")
    rows = {"live": factories.CustomerFactory(), "deleted": factories.CustomerFactory()}
    Customer.objects.filter(pk=rows["deleted"].pk).soft_delete()

    query = {"deleted": choice} if choice else {}
    response = client.get(admin_url(Customer, "changelist"), query)

    listed = {row.pk for row in response.context["cl"].result_list}
    assert listed == {rows[name].pk for name in shown}


def test_deleting_in_the_admin_soft_deletes(client, login_staff):
    login_staff("admin")
    document = factories.DocumentFactory()

    response = client.post(admin_url(Document, "delete", document.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Document.objects.filter(pk=document.pk).exists()
    assert Document.all_objects.get(pk=document.pk).is_deleted
    assert client.get(admin_url(Document, "change", document.pk)).status_code == 200


def test_conversation_page_lists_participants(client, login_staff):
    login_staff("admin")
    participant = factories.ParticipantFactory()

    page = client.get(admin_url(Conversation, "change", participant.conversation_id))

    assert participant.user.email in page.content.decode()


def test_conversation_page_links_to_its_messages_only(client, login_staff):
    login_staff("admin")
    message = factories.MessageFactory()
    factories.MessageFactory()

    messages_url = reverse(
        "admin:chat_message_changelist", query={"conversation": message.conversation_id}
    )

    page = client.get(admin_url(Conversation, "change", message.conversation_id))
    listed = client.get(messages_url).context["cl"].result_list

    assert messages_url in page.content.decode()
    assert [row.pk for row in listed] == [message.pk]


def test_finalized_invoice_cannot_be_edited_or_deleted(client, login_staff):
    login_staff("admin")
    invoice = factories.InvoiceFactory(status=InvoiceStatus.OPEN)

    response = client.get(admin_url(Invoice, "change", invoice.pk))

    assert set(response.context["adminform"].form.fields) == set()
    assert client.get(admin_url(Invoice, "delete", invoice.pk)).status_code == 403


def test_audit_events_cannot_be_added_changed_or_deleted_even_by_a_superuser(client, db):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    event = factories.AuditEventFactory(action=AuditAction.LOGIN_FAILED)

    assert client.get(admin_url(AuditEvent, "change", event.pk)).status_code == 200
    assert client.get(admin_url(AuditEvent, "add")).status_code == 403
    changed = client.post(admin_url(AuditEvent, "change", event.pk), {"action": "login.succeeded"})
    assert changed.status_code == 403
    assert (
        client.post(admin_url(AuditEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    )
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.LOGIN_FAILED


def test_viewing_audit_events_needs_a_view_permission(client, login_staff):
    login_staff()

    assert client.get(admin_url(AuditEvent, "changelist")).status_code == 403


def test_billing_managers_read_the_audit_of_billing_rows_only(client, login_staff):
    login_staff("billing_manager")
    customer = factories.CustomerFactory(name="Acme Ltd")
    AuditEvent.objects.create(
        action="customer.created", target_type="billing.customer", target_id=str(customer.pk)
    )
    AuditEvent.objects.create(action="user.created", target_type="accounts.user", target_id="x")

    page = client.get(admin_url(AuditEvent, "changelist")).content.decode()

    assert "customer.created" in page and "Acme Ltd" in page
    assert 'class="field-action">user.created' not in page


def test_the_audit_list_opens_when_a_target_id_is_not_its_model_s_kind_of_id(client, db):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    AuditEvent.objects.create(
        action="user.created", target_type="accounts.user", target_id="999985"
    )

    response = client.get(admin_url(AuditEvent, "changelist"))

    assert response.status_code == 200
    assert "999985" in response.content.decode()


@pytest.fixture
def superuser(client, db) -> User:
    user = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_without_required_2fa_a_superuser_enters_the_admin(client, superuser, settings):
    settings.ADMIN_REQUIRES_2FA = False

    assert client.get(reverse("admin:index")).status_code == 200


def test_with_required_2fa_an_unverified_superuser_is_sent_to_login(client, superuser, settings):
    settings.ADMIN_REQUIRES_2FA = True

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_with_required_2fa_the_login_page_asks_for_a_token(client, db, settings):
    settings.ADMIN_REQUIRES_2FA = True

    assert 'name="otp_token"' in client.get(reverse("admin:login")).content.decode()


def test_with_required_2fa_a_verified_superuser_enters_the_admin(client, superuser, settings):
    settings.ADMIN_REQUIRES_2FA = True
    device = TOTPDevice.objects.create(user=superuser, name="phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    assert client.get(reverse("admin:index")).status_code == 200


# Users are built through their profiles so the list's profile column has rows to join.
ROW_FACTORIES = {User: factories.UserProfileFactory}


@pytest.mark.parametrize("model", REGISTERED, ids=by_label)
def test_changelist_query_count_does_not_grow_with_rows(model, client, login_staff):
    login_staff("admin")
    build = ROW_FACTORIES.get(model, factory_for(model))
    url = admin_url(model, "changelist")
    build.create_batch(3)
    client.get(url)  # Warm per-process caches (content types and the like).

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    build.create_batch(10)
    with CaptureQueriesContext(connection) as many:
        client.get(url)

    assert len(many) == len(few), [query["sql"] for query in many]


@pytest.mark.parametrize("model", LARGE_TABLES, ids=by_label)
def test_large_table_changelist_never_counts_the_whole_table(model, client, login_staff):
    login_staff("admin")
    factory_for(model)()

    with CaptureQueriesContext(connection) as queries:
        client.get(admin_url(model, "changelist"))

    counts = [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]
    assert counts, "the changelist counts its rows somehow"
    assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_capped_paginator_stops_counting_at_the_cap(db, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 2)
    factories.PaymentFactory.create_batch(3)

    assert CappedCountPaginator(Payment.objects.all(), per_page=1).count == 2


def test_the_front_page_shows_the_figures_of_the_persons_roles(client, login_staff):
    cache.clear()
    login_staff("billing_manager")
    factories.InvoiceFactory(status=InvoiceStatus.OPEN, amount=0, number="INV-1999-000001")

    page = client.get(reverse("admin:index")).content.decode()

    assert "Billing" in page and "outstanding on 1 open invoice" in page
    assert "?past_due=yes" in page
    assert "Accounts and security" not in page


def test_staff_see_locked_accounts_and_failed_sign_ins(client, login_staff):
    login_staff("staff")
    factories.UserFactory(locked_until=timezone.now() + timedelta(hours=1))
    AuditEvent.objects.create(action=AuditAction.LOGIN_FAILED, after={"email": "x@y.z"})

    page = client.get(reverse("admin:index")).content.decode()

    assert "locked account" in page and "?locked=yes" in page
    assert "failed sign-ins in 24 h" in page


def test_messages_are_listed_by_their_words_and_found_by_them(client, login_staff):
    login_staff("staff")
    factories.MessageFactory(content="The Globex invoices go out on Friday")
    factories.MessageFactory(content="Lunch at noon?")
    url = admin_url(Message, "changelist")

    page = client.get(url, {"q": "globex friday"}).content.decode()

    assert "The Globex invoices go out on Friday" in page
    assert "Lunch at noon?" not in page


def test_pages_where_nothing_can_be_edited_offer_no_save(client, login_staff):
    login_staff("admin")
    message = factories.MessageFactory()
    document = factories.DocumentFactory()

    for obj in (message, document):
        page = client.get(admin_url(type(obj), "change", obj.pk)).content.decode()
        assert 'name="_save"' not in page, type(obj)
