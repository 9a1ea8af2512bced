"""The demo's documents: each with a version per edit and a few shares, built through the
documents services like any user's, so demo rows obey the same rules and are announced.

No service writes a past time, so every version is written when the demo is seeded: the
history shows who wrote each version and in what order, all "just now".
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts.models import User
from core.context import SYSTEM
from core.demo import DemoSummary, demo_rng
from documents import services
from documents.models import Document, DocumentShare, DocumentVersion, ShareLevel


@dataclass(frozen=True)
class DemoShare:
    user: str
    level: ShareLevel
    expires_in_days: int | None = None


@dataclass(frozen=True)
class DemoDocument:
    owner: str
    title: str
    # Version n holds the first n sections: each edit added one.
    sections: tuple[str, ...]
    shares: tuple[DemoShare, ...] = ()


DOCUMENTS: tuple[DemoDocument, ...] = (
    DemoDocument(
        "ana",
        "Launch checklist",
        (
            "# Launch checklist\n\nEverything that has to be true before we announce.",
            "## Product\n\n- Pricing page reviewed by billing\n- Beta feedback triaged",
            "## Marketing\n\n- Press kit sent to the three friendly editors\n- Blog post drafted",
            "## Operations\n\n- Status page updated\n- Support rota covers launch week",
        ),
        (DemoShare("ben", ShareLevel.EDITOR), DemoShare("grace", ShareLevel.VIEWER)),
    ),
    DemoDocument(
        "ben",
        "Onboarding guide for engineers",
        (
            "# Welcome aboard\n\nYour first week: laptop, accounts, and one small change shipped.",
            "## Day one\n\nClone the repository, run `make dev`, and say hello in Lunch & random.",
            "## Shipping\n\nEvery change goes through review; small pull requests merge fastest.",
        ),
        (DemoShare("ana", ShareLevel.COMMENTER),),
    ),
    DemoDocument(
        "chloe",
        "Brand voice notes",
        (
            "# Brand voice\n\nPlain words, short sentences, no exclamation marks.",
            "## Examples\n\nSay 'Your invoice is ready', not 'Great news! Your invoice awaits!'",
        ),
        # A contractor's access that runs out on its own.
        (DemoShare("hugo", ShareLevel.EDITOR, expires_in_days=30),),
    ),
    DemoDocument(
        "dev",
        "Incident review: login outage",
        (
            "# Incident review: login outage\n\nLogins failed for 42 minutes on Tuesday.",
            "## Timeline\n\n09:12 alerts fire. 09:20 rollback starts. 09:54 logins recover.",
            "## Cause\n\nA migration locked the users table while sessions were being written.",
            "## What went well\n\nThe rollback script worked the first time.",
            "## Actions\n\n- Lint migrations for table locks\n- Page on the login error rate",
        ),
        (DemoShare("elena", ShareLevel.VIEWER), DemoShare("farid", ShareLevel.COMMENTER)),
    ),
    DemoDocument(
        "elena",
        "Support macros",
        (
            "# Support macros\n\nCanned answers; edit them here, not in the helpdesk.",
            "## Refunds\n\nWe have refunded your payment; it reaches your card in 5-10 days.",
            "## Password reset\n\nUse 'Forgot password' on the sign-in page; links last an hour.",
        ),
        (DemoShare("farid", ShareLevel.EDITOR),),
    ),
    DemoDocument(
        "grace",
        "Team offsite agenda",
        (
            "# Team offsite\n\nTwo days by the lake, laptops optional.",
            "## Day one\n\nMorning: roadmap review. Afternoon: kayaks or a long lunch.",
        ),
    ),
)


def _seed_document(
    *,
    spec: DemoDocument,
    users: dict[str, User],
    now: datetime,
    summary: DemoSummary,
) -> None:
    summary.add(Document)
    summary.add(DocumentVersion, len(spec.sections))
    summary.add(DocumentShare, len(spec.shares))
    if summary.dry_run:
        return
    rng = demo_rng(f"document:{spec.owner}:{spec.title}")
    owner = users[spec.owner]
    document = services.document_create(
        actor=owner, title=spec.title, content=spec.sections[0], context=SYSTEM
    )
    # Shared first, so the editors among the sharees may write the later versions.
    for share in spec.shares:
        services.share_grant(
            actor=owner,
            document_id=document.pk,
            user_id=users[share.user].pk,
            permission_level=share.level,
            expires_at=(
                None
                if share.expires_in_days is None
                else now + timedelta(days=share.expires_in_days)
            ),
            context=SYSTEM,
        )
    authors = [owner] + [users[s.user] for s in spec.shares if s.level == ShareLevel.EDITOR]
    for number in range(2, len(spec.sections) + 1):
        services.document_update(
            actor=rng.choice(authors),
            document_id=document.pk,
            expected_version=number - 1,
            content="\n\n".join(spec.sections[:number]),
            context=SYSTEM,
        )


def seed_documents(*, users: dict[str, User], now: datetime, summary: DemoSummary) -> None:
    """Each document (keyed by owner and title) is built whole the first time and left as it
    is afterwards. Each write is its own transaction; with ``summary.dry_run`` nothing is
    written and the summary counts what would be."""
    for spec in DOCUMENTS:
        if not Document.all_objects.filter(owner=users[spec.owner], title=spec.title).exists():
            _seed_document(spec=spec, users=users, now=now, summary=summary)
