"""Reminders (dunning): one email per step of BILLING_REMINDER_STEPS while an invoice is open,
each step once, never for a paid, void or uncollectible invoice; after the last step the
invoice is flagged for staff (docs/billing-documents.md)."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.checks import run_checks
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from billing import tasks
from billing.models import Invoice, InvoiceSend, InvoiceSendStatus, InvoiceStatus
from billing.services import invoices, payments, sending
from core.context import SYSTEM
from core.exceptions import Conflict
from core.models import AuditAction, AuditEvent, Event
from tests.billing.factories import InvoiceSendFactory, invoice_with_lines
from tests.billing.steps import BASE
from tests.factories import StaffUserFactory
from tests.jobs import run_queued_jobs

pytestmark = pytest.mark.django_db

STEPS = (-3, 0, 7, 14, 30)


@pytest.fixture(autouse=True)
def policy(settings):
    settings.BILLING_REMINDER_STEPS = [str(step) for step in STEPS]


def remind(now: datetime) -> int:
    """The periodic job's work at ``now``, then the worker's: how many reminders went out."""
    sending.reminders_queue(now=now)
    before = len(mail.outbox)
    run_queued_jobs()
    return len(mail.outbox) - before


def test_each_step_reminds_once_and_the_last_flags_the_invoice_for_staff(api):
    due = timezone.now().replace(microsecond=0)
    invoice = invoice_with_lines(status=InvoiceStatus.OPEN, due_date=due)

    assert remind(due - timedelta(days=4)) == 0
    assert remind(due - timedelta(days=3)) == 1
    assert mail.outbox[-1].subject == f"Reminder: invoice {invoice.number} is due on " + (
        f"{timezone.localtime(due):%d %B %Y}"
    )
    assert "due in 3 days" in mail.outbox[-1].body
    assert remind(due - timedelta(days=2)) == 0  # the same step, a day later: nothing more
    assert remind(due) == 1
    assert mail.outbox[-1].subject == f"Invoice {invoice.number} is due today"
    assert remind(due + timedelta(days=7, hours=1)) == 1
    assert "7 days ago" in mail.outbox[-1].body

    # A worker down for weeks sends the latest step reached, not every step it missed.
    assert remind(due + timedelta(days=40)) == 1
    assert "40" not in mail.outbox[-1].subject and "30 days ago" in mail.outbox[-1].body
    assert remind(due + timedelta(days=90)) == 0

    log = api.get(f"{BASE}/invoices/{invoice.pk}/sends").json()["results"]
    assert [(row["reminder_step"], row["status"]) for row in log] == [
        (30, "sent"),
        (7, "sent"),
        (0, "sent"),
        (-3, "sent"),
    ]
    detail = api.get(f"{BASE}/invoices/{invoice.pk}").json()
    assert detail["dunning_exhausted_at"] is not None
    assert AuditEvent.objects.filter(action=AuditAction.INVOICE_DUNNING_EXHAUSTED).count() == 1
    assert Event.objects.filter(type="invoice.reminder_sent").count() == 4


@pytest.mark.parametrize(
    "close",
    [
        lambda invoice: payments.payment_record(
            invoice=invoice, amount=invoice.amount, provider="manual", actor=None, context=SYSTEM
        ),
        lambda invoice: invoices.invoice_void(invoice=invoice, actor=None, context=SYSTEM),
        lambda invoice: invoices.invoice_mark_uncollectible(
            invoice=invoice, actor=None, context=SYSTEM
        ),
    ],
    ids=["paid", "void", "uncollectible"],
)
def test_no_reminder_for_an_invoice_closed_before_or_after_it_was_queued(close):
    due = timezone.now()
    closed_first = invoice_with_lines(status=InvoiceStatus.OPEN, due_date=due)
    closed_later = invoice_with_lines(status=InvoiceStatus.OPEN, due_date=due)
    close(closed_first)

    sending.reminders_queue(now=due + timedelta(days=1))
    close(closed_later)  # between the job that queued the reminder and the one sending it
    run_queued_jobs()

    assert mail.outbox == []
    assert not InvoiceSend.objects.filter(invoice=closed_first).exists()
    skipped = InvoiceSend.objects.get(invoice=closed_later)
    assert skipped.status == InvoiceSendStatus.SKIPPED
    assert skipped.last_error.startswith("Not reminded: the invoice is ")


def test_the_periodic_job_queues_what_is_due_now():
    invoice_with_lines(status=InvoiceStatus.OPEN, due_date=timezone.now() - timedelta(days=1))

    tasks.send_reminders(timestamp=0)
    run_queued_jobs()

    (message,) = mail.outbox
    assert message.subject.startswith("Invoice ") and message.subject.endswith("is due today")


def test_an_empty_policy_sends_no_reminders(settings):
    settings.BILLING_REMINDER_STEPS = []
    invoice_with_lines(status=InvoiceStatus.OPEN, due_date=timezone.now() - timedelta(days=60))

    assert remind(timezone.now()) == 0


def test_the_database_refuses_a_second_reminder_of_a_step():
    first = InvoiceSendFactory(reminder_step=7)

    with pytest.raises(IntegrityError) as error, transaction.atomic():
        InvoiceSendFactory(invoice=first.invoice, reminder_step=7)

    assert error.value.__cause__.diag.constraint_name == "billing_invoicesend_reminder_once"
    InvoiceSendFactory(invoice=first.invoice)  # sends on request are not steps
    InvoiceSendFactory(invoice=first.invoice)


def test_a_bad_policy_is_refused_at_start(settings):
    settings.BILLING_REMINDER_STEPS = ["-3", "soon", "400", "7", "7"]

    errors = [message for message in run_checks() if message.id == "billing.E001"]

    assert [error.msg for error in errors] == [
        "BILLING_REMINDER_STEPS: 'soon' is not a whole number of days.",
        "BILLING_REMINDER_STEPS: 400 is more than 365 days from the due date.",
        "BILLING_REMINDER_STEPS: 7 is given twice.",
    ]


def test_the_dashboard_lists_open_invoices_whose_reminders_ran_out(client, synced_roles):
    due = timezone.now() - timedelta(days=31)
    chased = invoice_with_lines(status=InvoiceStatus.OPEN, due_date=due)
    settled = invoice_with_lines(status=InvoiceStatus.OPEN, due_date=due)
    remind(timezone.now())
    payments.payment_record(
        invoice=settled, amount=settled.amount, provider="manual", actor=None, context=SYSTEM
    )
    client.force_login(StaffUserFactory(roles=["billing_manager"]))

    page = client.get(reverse("admin:index")).content.decode()

    assert "Reminders all sent, still open" in page
    assert str(chased.number) in page and str(settled.number) not in page
    listed = client.get(reverse("admin:billing_invoice_changelist") + "?reminders_exhausted=yes")
    assert chased.number in listed.content.decode()
    assert settled.number not in listed.content.decode()


# --- the property: over any sequence of what happens to invoices ------------------------------

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(min_value=1, max_value=20)),
        st.tuples(
            st.sampled_from(["pay", "void", "uncollectible"]), st.integers(min_value=0, max_value=2)
        ),
        st.tuples(st.sampled_from(["queue", "deliver"]), st.just(0)),
    ),
    max_size=20,
)
# What each action moves an invoice from, and to.
MOVES = {
    "pay": ({InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE}, InvoiceStatus.PAID),
    "void": ({InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE}, InvoiceStatus.VOID),
    "uncollectible": ({InvoiceStatus.OPEN}, InvoiceStatus.UNCOLLECTIBLE),
}


def _move(action: str, invoice: Invoice) -> None:
    if action == "pay":  # all of it (nothing else pays these invoices)
        payments.payment_record(
            invoice=invoice, amount=invoice.amount, provider="manual", actor=None, context=SYSTEM
        )
    elif action == "void":
        invoices.invoice_void(invoice=invoice, actor=None, context=SYSTEM)
    else:
        invoices.invoice_mark_uncollectible(invoice=invoice, actor=None, context=SYSTEM)


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    due_in=st.lists(st.integers(min_value=-40, max_value=10), min_size=1, max_size=3),
    actions=ACTIONS,
)
def test_reminders_only_reach_open_invoices_once_per_step(due_in, actions):
    # The examples share the test's transaction: close the earlier examples' invoices so each
    # example's reminders are its own.
    Invoice.objects.filter(status=InvoiceStatus.OPEN).update(status=InvoiceStatus.VOID)
    mail.outbox = []
    now = timezone.now()
    ours = [
        invoice_with_lines(status=InvoiceStatus.OPEN, due_date=now + timedelta(days=days))
        for days in due_in
    ]
    status = {invoice.pk: InvoiceStatus.OPEN for invoice in ours}
    queued_at: dict[object, datetime] = {}  # reminder id -> the clock when it was queued

    def deliver() -> None:
        sent = InvoiceSend.objects.filter(status=InvoiceSendStatus.SENT)
        already = set(sent.values_list("pk", flat=True))
        run_queued_jobs()
        for send in sent.exclude(pk__in=already):
            # Sent now: the invoice was open now, and the step was due when it was queued.
            assert status[send.invoice_id] == InvoiceStatus.OPEN
            due = send.invoice.due_date + timedelta(days=send.reminder_step)
            assert due <= queued_at[send.pk]

    def queue() -> None:
        sending.reminders_queue(now=now)
        for send in InvoiceSend.objects.filter(invoice__in=ours):
            queued_at.setdefault(send.pk, now)

    for action, value in [*actions, ("queue", 0), ("deliver", 0)]:
        if action == "advance":
            now += timedelta(days=value)
        elif action == "queue":
            queue()
        elif action == "deliver":
            deliver()
        else:
            invoice = ours[value % len(ours)]
            sources, target = MOVES[action]
            if status[invoice.pk] in sources:
                _move(action, invoice)
                status[invoice.pk] = target
            else:
                with pytest.raises(Conflict):
                    _move(action, invoice)

    reminders = InvoiceSend.objects.filter(invoice__in=ours)
    sent = reminders.filter(status=InvoiceSendStatus.SENT)
    # At most one email per invoice and step, and one row per email.
    steps_sent = [(send.invoice_id, send.reminder_step) for send in sent]
    assert len(steps_sent) == len(set(steps_sent)) == len(mail.outbox)
    for invoice in ours:
        invoice.refresh_from_db()
        mine = [send.reminder_step for send in reminders.filter(invoice=invoice)]
        # Steps only go forward, and an invoice still open has had the latest step reached.
        assert mine == sorted(mine, reverse=True)  # newest first
        reached = [step for step in STEPS if invoice.due_date + timedelta(days=step) <= now]
        if status[invoice.pk] == InvoiceStatus.OPEN and reached:
            assert mine and mine[0] >= reached[-1]
        assert (invoice.dunning_exhausted_at is not None) == (STEPS[-1] in mine)
