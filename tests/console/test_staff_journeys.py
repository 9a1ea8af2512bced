"""The staff console's main tasks, walked in Chromium as a new staff member would: sign in
(enrolling an authenticator when 2FA is required), bill a customer from draft to paid, lock
and unlock an account, restore a document, find a message by its words, and read the audit
trail of all of it."""

import re
from datetime import date, timedelta

import pyotp
import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from billing.models import Invoice, InvoiceStatus
from documents.models import Document
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, user: User, password: str = factories.DEFAULT_PASSWORD) -> None:
    page.goto("/admin/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")


def run_action(page: Page, action: str, *pks) -> None:
    for pk in pks:
        page.check(f"input[name=_selected_action][value='{pk}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


@pytest.fixture
def billing_manager(synced_roles) -> User:
    return factories.StaffUserFactory(email="bea@atrium.test", roles=["billing_manager"])


def test_a_customer_is_billed_from_draft_to_paid_and_the_audit_tells_it(page, billing_manager):
    sign_in(page, billing_manager)
    expect(page.locator("h1")).to_have_text("Run the company")

    page.goto("/admin/billing/customer/add/")
    page.fill("#id_name", "Acme Ltd")
    page.fill("#id_email", "ap@acme.example")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("Acme Ltd")

    # A second customer with the same address (another case) is refused on the form.
    page.goto("/admin/billing/customer/add/")
    page.fill("#id_name", "Acme again")
    page.fill("#id_email", "AP@acme.example")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("A customer with this email address exists")

    page.goto("/admin/billing/invoice/add/")
    page.click("#id_customer + .select2 .select2-selection")
    page.fill(".select2-search__field", "Acme")
    page.click(".select2-results__option:has-text('Acme Ltd')")
    page.fill("#id_due_date", (date.today() + timedelta(days=30)).isoformat())
    page.fill("#id_lines-0-description", "Consulting, November")
    page.fill("#id_lines-0-quantity", "3")
    page.fill("#id_lines-0-unit_price", "100.00")
    page.click("text=Add another Invoice line")
    page.fill("#id_lines-1-description", "Travel")
    page.fill("#id_lines-1-quantity", "1")
    page.fill("#id_lines-1-unit_price", "25.50")
    page.click("input[name=_continue]")
    expect(page.locator(".field-amount .readonly")).to_have_text("325.50")
    invoice = Invoice.objects.get(customer__email="ap@acme.example")
    assert str(invoice) == f"Draft for Acme Ltd ({invoice.created_at:%d %b %Y})"

    page.goto("/admin/billing/invoice/")
    run_action(page, "invoice_finalize", invoice.pk)
    expect(page.locator(".messagelist")).to_contain_text("Finalized: 1.")
    invoice.refresh_from_db()
    page.click(f"text={invoice.number}")

    page.click("text=Record a payment…")
    page.fill("#id_amount", "300.00")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("25.50 remains due.")
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.OPEN

    page.click("text=Record a payment…")
    expect(page.locator("#id_amount")).to_have_value("25.50")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text(f"{invoice.number} is paid.")
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID

    # The invoice's History is its audit trail, readable: who, what, which fields moved.
    page.click("text=History")
    history = page.locator("#audit-history")
    for action in ("invoice.created", "invoice.finalized", "invoice.paid"):
        expect(history).to_contain_text(action)
    expect(history).to_contain_text("status: open → paid")

    page.goto("/admin/core/auditevent/?target_type=billing.payment")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("payment.recorded")


def test_an_account_is_locked_with_its_sessions_and_unlocked(
    page, browser, live_server, synced_roles
):
    admin = factories.StaffUserFactory(email="ada@atrium.test", roles=["admin"])
    colleague = factories.StaffUserFactory(email="sam@atrium.test", roles=["staff"])
    # The colleague is signed in to the console in a browser of their own.
    theirs = browser.new_context(base_url=live_server.url).new_page()
    sign_in(theirs, colleague)
    expect(theirs.locator("h1")).to_have_text("Run the company")

    sign_in(page, admin)
    page.goto("/admin/accounts/user/?q=sam%40atrium.test")
    run_action(page, "lock", colleague.pk)
    expect(page.locator(".messagelist")).to_contain_text("Sign-in locked for 1 user.")
    expect(page.locator(".messagelist")).to_contain_text(re.compile(r"The lock ends on its own at"))

    theirs.reload()
    expect(theirs).to_have_url(re.compile(r"/admin/login/"))
    theirs.context.close()

    run_action(page, "unlock", colleague.pk)
    expect(page.locator(".messagelist")).to_contain_text("Sign-in unlocked for 1 user.")
    page.goto(f"/admin/accounts/user/{colleague.pk}/history/")
    history = page.locator("#audit-history")
    expect(history).to_contain_text("account.locked")
    expect(history).to_contain_text("account.unlocked")
    expect(history).to_contain_text("admin sessions: 1")


def test_a_document_is_restored_and_a_message_found_by_its_words(page, synced_roles):
    # Moderating documents needs the right to delete them, which the admin role holds.
    staff = factories.StaffUserFactory(email="sue@atrium.test", roles=["admin"])
    document = factories.DocumentFactory(title="Quarterly plan", deleted_at=timezone.now())
    factories.MessageFactory(content="The invoices for Globex go out on Friday")
    factories.MessageFactory(content="Lunch at noon?")

    sign_in(page, staff)
    page.goto("/admin/documents/document/?deleted=deleted")
    run_action(page, "restore_selected", document.pk)
    expect(page.locator(".messagelist")).to_contain_text("Restored 1 document.")
    assert Document.objects.filter(pk=document.pk).exists()

    page.goto("/admin/chat/message/")
    page.fill("#searchbar", "globex friday")
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("The invoices for Globex go out on Friday")

    page.goto(f"/admin/documents/document/{document.pk}/history/")
    expect(page.locator("#audit-history")).to_contain_text("document.restored")


def test_a_new_staff_member_enrols_an_authenticator_at_first_sign_in(page, settings, synced_roles):
    settings.ADMIN_REQUIRES_2FA = True
    newcomer = factories.StaffUserFactory(email="neo@atrium.test", roles=["staff"])

    sign_in(page, newcomer)
    expect(page.locator("h1")).to_have_text("Set up two-factor authentication")
    secret = page.locator("#totp-secret").inner_text()
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("input[type=submit]")

    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name="I have kept them: open the console").click()
    expect(page.locator("h1")).to_have_text("Run the company")
    assert User.objects.get(pk=newcomer.pk).totp_enabled
