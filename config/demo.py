"""The whole demo data set behind ``manage.py seed_demo``: people, conversations, documents
and billing records that make the admin and the API look like a small company at work.

This is the one place that knows every app; each app builds its part in its own ``demo.py``.

Safe to run again. Demo accounts are looked up by email and brought back to the state the
printed logins promise (password, flags, role) without writing when nothing differs. Content
comes in aggregates, each keyed by a natural identifier: a conversation (title) with its
participants and messages, a document (owner, title) with its versions and shares, a product
(name), a customer (email) with its invoices and payments. An aggregate is built whole the
first time and left as it is afterwards, so edits made while demoing survive a re-run.

Each aggregate draws its variety from a random source seeded with its own key, so the data is
the same on every database whichever aggregates already exist. Times are relative to now, so
"past due" and "expires next month" stay true whenever the set is built.
"""

from django.db import transaction
from django.utils import timezone

from accounts.demo import seed_people
from billing.demo import seed_billing
from chat.demo import seed_chat
from core.demo import DemoSummary
from documents.demo import seed_documents


def seed_demo(*, dry_run: bool = False) -> DemoSummary:
    """Builds (or completes) the demo data set in one transaction; with ``dry_run`` the
    transaction is rolled back and the summary tells what would have been created."""
    summary = DemoSummary(dry_run=dry_run)
    now = timezone.now()
    # Durable: the whole set commits or nothing does, so it is never half there.
    with transaction.atomic(durable=True):
        users = seed_people(summary=summary)
        seed_documents(users=users, now=now, summary=summary)
        seed_billing(now=now, summary=summary)
        if dry_run:
            transaction.set_rollback(True)
    # Through chat's services, each its own transaction: after the people are committed, and
    # on a dry run it only counts.
    seed_chat(users=users, summary=summary)
    return summary
