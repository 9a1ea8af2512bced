"""The staff console's account pages: every write is the accounts service's (audited), a
password set or a lock ends the person's sessions (the console's included), 2FA enrolment at
the console's door, and the pages the emailed links open."""

import re
from urllib.parse import unquote

import pyotp
import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import ApiSession, Role, User
from accounts.services import two_factor, users
from core.context import SYSTEM
from core.exceptions import ValidationFailed
from core.models import AuditAction, AuditEvent
from tests.accounts.conftest import last_email_token, session_token_for
from tests.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory
from tests.jobs import run_queued_jobs
from tests.test_admin import form_data

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long and unguessable passphrase"


@pytest.fixture
def admin_client(client, synced_roles):
    client.force_login(StaffUserFactory(roles=["admin"]))
    return client


def console_session_of(user: User) -> Client:
    """A browser of ``user``'s signed in to the console."""
    browser = Client()
    browser.force_login(user)
    assert browser.get(reverse("admin:index")).status_code == 200
    return browser


def test_a_password_set_by_staff_is_audited_and_ends_every_session(admin_client, synced_roles):
    colleague = StaffUserFactory(roles=["staff"])
    session_token_for(colleague)
    theirs = console_session_of(colleague)

    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[colleague.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        follow=True,
    )

    assert "every session they had is ended" in response.content.decode()
    colleague.refresh_from_db()
    assert colleague.check_password(NEW_PASSWORD)
    assert not ApiSession.objects.filter(user=colleague).exists()
    assert theirs.get(reverse("admin:index")).status_code == 302
    assert AuditEvent.objects.filter(
        action=AuditAction.PASSWORD_CHANGED, target_id=str(colleague.pk), after={"via": "staff"}
    ).exists()


def test_a_weak_password_is_refused_on_the_page(admin_client):
    member = UserFactory()

    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[member.pk]),
        {"password1": "123", "password2": "123"},
    )

    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()


def test_an_email_change_is_audited_unverified_and_sends_a_new_link(
    admin_client, django_capture_on_commit_callbacks
):
    member = UserFactory(email="old@example.com", verified=True)
    page = admin_client.get(reverse("admin:accounts_user_change", args=[member.pk]))
    data = {**form_data(page), "email": "new@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:accounts_user_change", args=[member.pk]), data)

    member.refresh_from_db()
    assert (member.email, member.verified) == ("new@example.com", False)
    event = AuditEvent.objects.get(action=AuditAction.USER_UPDATED, target_id=str(member.pk))
    assert event.before == {"email": "old@example.com", "verified": True}
    run_queued_jobs()  # the verification email is a job's
    assert mail.outbox[-1].to == ["new@example.com"]


def test_an_email_taken_by_another_account_is_refused(admin_client):
    UserFactory(email="taken@example.com")
    member = UserFactory()

    with pytest.raises(ValidationFailed) as refusal:
        users.user_set_email(user=member, email="Taken@example.com", actor=None, context=SYSTEM)

    assert refusal.value.fields == {"email": ["An account with this address exists."]}


def test_a_lock_ends_the_console_session_and_says_until_when(admin_client, synced_roles):
    colleague = StaffUserFactory(roles=["staff"])
    theirs = console_session_of(colleague)

    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "lock", "_selected_action": [str(colleague.pk)]},
        follow=True,
    )

    page = response.content.decode()
    assert "Sign-in locked for 1 user." in page
    assert re.search(r"The lock ends on its own at \w+", page)
    assert theirs.get(reverse("admin:index")).status_code == 302
    assert not Session.objects.exists() or all(
        s.get_decoded().get("_auth_user_id") != str(colleague.pk) for s in Session.objects.all()
    )


def test_the_history_of_an_account_is_its_audit_trail(admin_client):
    member = UserFactory()
    admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "lock", "_selected_action": [str(member.pk)]},
    )

    page = admin_client.get(reverse("admin:accounts_user_history", args=[member.pk]))

    assert "account.locked" in page.content.decode()


def test_permissions_are_grouped_without_djangos_machinery_and_roles_counted(admin_client):
    permissions = admin_client.get(reverse("admin:accounts_permission_changelist")).content
    roles = admin_client.get(reverse("admin:accounts_role_changelist")).content.decode()

    assert b"auth.add_group" not in permissions and b"admin.add_logentry" not in permissions
    assert b"Billing: Can add invoice" in permissions
    assert 'class="field-user_count"' in roles and 'class="field-permission_count"' in roles


def test_saving_a_role_untouched_keeps_its_hidden_machinery_permissions(admin_client):

    admin_role = Role.objects.get(name="admin")
    held = set(admin_role.permissions.values_list("name", flat=True))
    url = reverse("admin:accounts_role_change", args=[admin_role.pk])

    admin_client.post(url, form_data(admin_client.get(url)))

    assert set(admin_role.permissions.values_list("name", flat=True)) == held


# --- two-factor authentication at the console's door ----------------------------------------


def test_staff_without_a_device_are_sent_to_enrol_one_and_then_let_in(
    client, settings, synced_roles
):
    settings.ADMIN_REQUIRES_2FA = True
    newcomer = StaffUserFactory(roles=["staff"])

    signed_in = client.post(
        reverse("admin:login"), {"username": newcomer.email, "password": DEFAULT_PASSWORD}
    )
    assert signed_in.status_code == 302
    enrol = client.get(reverse("admin:login"))
    assert enrol["Location"] == reverse("admin:two_factor_enrol")
    page = client.get(enrol["Location"]).content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)

    wrong = client.post(reverse("admin:two_factor_enrol"), {"code": "000000"})
    assert "does not match" in wrong.content.decode()
    assert secret in wrong.content.decode()  # the same secret, shown again

    done = client.post(reverse("admin:two_factor_enrol"), {"code": pyotp.TOTP(secret).now()})
    assert done.content.decode().count("<li><code>") == two_factor.RECOVERY_CODE_COUNT
    assert client.get(reverse("admin:index")).status_code == 200
    assert AuditEvent.objects.filter(
        action=AuditAction.TWO_FACTOR_ENABLED, target_id=str(newcomer.pk)
    ).exists()


def test_a_recovery_code_opens_the_console_once(client, settings, synced_roles):
    settings.ADMIN_REQUIRES_2FA = True
    staff = StaffUserFactory(roles=["staff"])
    setup = two_factor.totp_setup(user=staff)
    codes = two_factor.totp_confirm(user=staff, code=pyotp.TOTP(setup.secret).now(), context=SYSTEM)
    credentials = {"username": staff.email, "password": DEFAULT_PASSWORD, "otp_token": codes[0]}

    assert client.post(reverse("admin:login"), credentials).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    client.logout()
    again = client.post(reverse("admin:login"), credentials)
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.RECOVERY_CODE_USED).count() == 1


def test_djangos_own_device_lists_are_not_in_the_console(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()

    assert "otp_totp" not in index and "otp_static" not in index


# --- the pages the emailed links open ----------------------------------------------------------


def test_the_verification_link_confirms_the_address_after_one_click(
    client, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        users.user_register(email="new@example.com", password=NEW_PASSWORD, display_name="New")
    token = unquote(last_email_token(r"verify-email\?token=(\S+)"))

    shown = client.get(f"/verify-email?token={token}")
    assert b"Confirm my address" in shown.content
    assert not User.objects.get(email="new@example.com").verified

    confirmed = client.post("/verify-email", {"token": token})
    assert b"is confirmed" in confirmed.content
    assert User.objects.get(email="new@example.com").verified


def test_a_bad_verification_link_says_so(client, db):
    page = client.post("/verify-email", {"token": "not-a-token"})

    assert page.status_code == 200
    assert b"invalid or has expired" in page.content


def test_the_reset_link_sets_a_new_password_and_ends_sessions(client, db):
    member = UserFactory(email="ana@example.com")
    session_token_for(member)
    users.password_reset_request(email=member.email)
    run_queued_jobs()
    uid, token = re.search(r"reset-password\?uid=(\S+)&token=(\S+)", mail.outbox[-1].body).groups()

    form = client.get(f"/reset-password?uid={uid}&token={token}")
    assert b'name="new_password"' in form.content
    mismatch = client.post(
        "/reset-password",
        {"uid": uid, "token": token, "new_password": NEW_PASSWORD, "new_password_again": "x"},
    )
    assert b"The two passwords differ." in mismatch.content
    done = client.post(
        "/reset-password",
        {
            "uid": uid,
            "token": token,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )

    assert b"Your password is changed" in done.content
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert not ApiSession.objects.filter(user=member).exists()
    used_again = client.post(
        "/reset-password",
        {
            "uid": uid,
            "token": token,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert b"invalid or has been used" in used_again.content


def test_the_home_page_says_what_atrium_is_and_links_the_way_in(client, db):
    page = client.get("/").content.decode()

    assert "back-office" in page
    assert reverse("admin:index") in page and reverse("api-docs") in page


def test_swagger_offers_the_bearer_token_first(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    first = next(iter(schema["components"]["securitySchemes"].values()))
    assert (first["type"], first["scheme"]) == ("http", "bearer")


def test_roles_are_made_renamed_and_removed_through_the_audited_service(admin_client):
    holder = UserFactory(email="holder@example.com")
    admin_client.post(reverse("admin:accounts_role_add"), {"name": "auditor"})
    role = Role.objects.get(name="auditor")
    role.users.add(holder)
    admin_client.post(reverse("admin:accounts_role_change", args=[role.pk]), {"name": "auditors"})
    admin_client.post(reverse("admin:accounts_role_delete", args=[role.pk]), {"post": "yes"})

    events = AuditEvent.objects.filter(target_id=str(role.pk)).order_by("occurred_at")
    assert [event.action for event in events] == [
        AuditAction.ROLE_CREATED,
        AuditAction.ROLE_RENAMED,
        AuditAction.ROLE_DELETED,
    ]
    assert events[2].before == {"name": "auditors", "permissions": [], "users": [holder.email]}
    assert not Role.objects.filter(pk=role.pk).exists()


def test_changing_ones_own_password_is_audited_and_ends_the_other_sessions(client, synced_roles):
    staff = StaffUserFactory(roles=["staff"])
    session_token_for(staff)
    elsewhere = console_session_of(staff)
    client.force_login(staff)

    response = client.post(
        reverse("admin:password_change"),
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response["Location"] == reverse("admin:password_change_done")
    assert client.get(reverse("admin:index")).status_code == 200
    assert elsewhere.get(reverse("admin:index")).status_code == 302
    assert not ApiSession.objects.filter(user=staff).exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.PASSWORD_CHANGED, target_id=str(staff.pk), after={"via": "change"}
    ).exists()
