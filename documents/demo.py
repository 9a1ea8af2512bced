"""The demo's documents: each with a version per edit and a few shares."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts.models import User
from core.demo import DemoSummary, demo_rng
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
    started_days_ago: int = 20


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
        started_days_ago=26,
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
        started_days_ago=40,
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
        started_days_ago=15,
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
        started_days_ago=11,
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
        started_days_ago=30,
    ),
    DemoDocument(
        "grace",
        "Team offsite agenda",
        (
            "# Team offsite\n\nTwo days by the lake, laptops optional.",
            "## Day one\n\nMorning: roadmap review. Afternoon: kayaks or a long lunch.",
        ),
        started_days_ago=8,
    ),
)


def _seed_document(
    *,
    spec: DemoDocument,
    users: dict[str, User],
    now: datetime,
    summary: DemoSummary,
) -> None:
    rng = demo_rng(f"document:{spec.owner}:{spec.title}")
    owner = users[spec.owner]
    authors = [owner] + [users[s.user] for s in spec.shares if s.level == ShareLevel.EDITOR]
    started = now - timedelta(days=spec.started_days_ago)

    edited_at = started
    versions = []
    for number in range(1, len(spec.sections) + 1):
        versions.append(
            DocumentVersion(
                version=number,
                title=spec.title,
                content="\n\n".join(spec.sections[:number]),
                # The owner writes the first version; editors may write the later ones.
                created_by=owner if number == 1 else rng.choice(authors),
                created_at=edited_at,
            )
        )
        edited_at += timedelta(hours=rng.randint(2, 72))
    newest = versions[-1]
    document = Document.objects.create(
        owner=owner,
        title=spec.title,
        content=newest.content,
        version=newest.version,
        created_at=started,
        updated_at=newest.created_at,
    )
    for version in versions:
        version.document = document
    DocumentVersion.objects.bulk_create(versions)
    DocumentShare.objects.bulk_create(
        DocumentShare(
            document=document,
            user=users[share.user],
            permission_level=share.level,
            expires_at=(
                None
                if share.expires_in_days is None
                else now + timedelta(days=share.expires_in_days)
            ),
        )
        for share in spec.shares
    )
    summary.add(Document)
    summary.add(DocumentVersion, len(versions))
    summary.add(DocumentShare, len(spec.shares))


def seed_documents(*, users: dict[str, User], now: datetime, summary: DemoSummary) -> None:
    for spec in DOCUMENTS:
        if not Document.all_objects.filter(owner=users[spec.owner], title=spec.title).exists():
            _seed_document(spec=spec, users=users, now=now, summary=summary)
