"""The whole demo data set behind ``manage.py seed_demo``: people, conversations, documents
and billing records that make the admin and the API look like a small company at work.

This is the one place that knows every app; each app builds its part in its own ``demo.py``.

Safe to run again. Demo accounts are looked up by email and brought back to the state the
printed logins promise (password, flags, role) without writing when nothing differs. Content
comes in aggregates, each keyed by a natural identifier: a conversation (title) with its
participants and messages, a document (owner, title) with its versions and shares, a product
(name), a customer (email) with its invoices and payments. An aggregate is built the first
time and left as it is afterwards, so edits made while demoing survive a re-run.

Every row comes from the app's own services, as a user's would, so demo data obeys the real
rules and announces itself like any other change. Each service call is its own transaction:
a run stopped halfway leaves the aggregate it was building partly built (delete it, or the
database, to have it rebuilt). History happens now, as the services record it; due dates
and share expiries are relative to now, so "past due" stays true whenever the set is built.

Each aggregate draws its variety from a random source seeded with its own key, so the data is
the same on every database whichever aggregates already exist.
"""

from django.utils import timezone

from accounts.demo import seed_people
from billing.demo import seed_billing
from chat.demo import seed_chat
from core.demo import DemoSummary
from documents.demo import seed_documents


def seed_demo(*, dry_run: bool = False) -> DemoSummary:
    """Builds (or completes) the demo data set through each app's services, each write its
    own transaction; with ``dry_run`` nothing is written and the summary tells what would be
    created."""
    summary = DemoSummary(dry_run=dry_run)
    now = timezone.now()
    users = seed_people(summary=summary)
    seed_chat(users=users, summary=summary)
    seed_documents(users=users, now=now, summary=summary)
    seed_billing(now=now, summary=summary)
    return summary
