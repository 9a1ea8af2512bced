"""Every domain's scale data in one run: ``manage.py seed_demo --scale N``.

N multiplies one unit of each domain's bulk loader (each app's ``scale.py``): chat 50 users,
100 conversations and 10,000 messages; documents 100 documents averaging 20 versions; billing
1,000 invoices over 10 customers (about two payments each); accounts 1,000 API sessions; core
1,000 audit events and as many events. ``--scale 1000`` is the size the staff console is
measured at (10 million messages, 2 million versions, 1 million invoices and sessions).

The loaders write in bulk around the services (see each ``scale.py``), into empty tables for
documents and billing. Every refusal is asked before anything is written, so a dry run says
exactly whether the real run would load, and a refused run loads nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from accounts.scale import sessions_scale_load
from billing import scale as billing_scale
from chat import scale as chat_scale
from core.scale import audit_scale_load, pending_refusal
from documents import scale as documents_scale

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScaleStep:
    domain: str
    plan: str
    refusal: Callable[[], str | None]
    load: Callable[[Progress], object]


def _never_refused() -> None:
    return None


def scale_steps(n: int) -> list[ScaleStep]:
    """What ``--scale n`` loads, domain by domain, in the order it loads it (sessions need
    the users chat makes)."""
    if n < 1:
        raise ValueError("--scale is at least 1.")
    chat_plan = chat_scale.ScalePlan(users=50 * n, conversations=100 * n, messages=10_000 * n)
    return [
        ScaleStep(
            "chat",
            f"{chat_plan.users:,} users, {chat_plan.conversations:,} conversations, "
            f"{chat_plan.messages:,} messages",
            chat_scale.refusal,
            lambda progress: chat_scale.load(chat_plan, progress),
        ),
        ScaleStep(
            "documents",
            f"{100 * n:,} documents averaging 20 versions",
            documents_scale.refusal,
            lambda progress: documents_scale.documents_scale_load(
                documents=100 * n, versions=20, owners=max(2, n), progress=progress
            ),
        ),
        ScaleStep(
            "billing",
            f"{1_000 * n:,} invoices over {10 * n:,} customers",
            billing_scale.refusal,
            lambda progress: billing_scale.billing_scale_load(
                invoices=1_000 * n, customers=10 * n, progress=progress
            ),
        ),
        ScaleStep(
            "accounts",
            f"{1_000 * n:,} API sessions",
            pending_refusal,
            lambda progress: sessions_scale_load(sessions=1_000 * n, progress=progress),
        ),
        ScaleStep(
            "core",
            f"{1_000 * n:,} audit events and {1_000 * n:,} events",
            _never_refused,
            lambda progress: audit_scale_load(
                audit_events=1_000 * n, events=1_000 * n, progress=progress
            ),
        ),
    ]


def refusals(steps: list[ScaleStep]) -> list[str]:
    return [f"{step.domain}: {reason}" for step in steps if (reason := step.refusal())]
