"""The demo data set behind ``manage.py seed_demo``: people, roles, conversations, documents
and billing records that make the admin and the API look like a small company at work.

Safe to run again. Demo accounts are looked up by email and brought back to the state the
printed logins promise (password, flags, role) without writing when nothing differs. Content
comes in aggregates, each keyed by a natural identifier: a conversation (title) with its
participants and messages, a document (owner, title) with its versions and shares, a product
(name), a customer (email) with its invoices and payments. An aggregate is built whole the
first time and left as it is afterwards, so edits made while demoing survive a re-run.

Each aggregate draws its variety from a ``random.Random`` seeded with its own key, so the
data is the same on every database whichever aggregates already exist. Times are relative to
now, so "past due" and "expires next month" stay true whenever the set is built.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import models, transaction
from django.utils import timezone

from accounts.models import Permission, Role, User, UserProfile
from accounts.services import permissions_sync, user_set_roles
from billing.models import (
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Product,
    Refund,
)
from billing.services import CLOSINGS, invoice_number_allocate
from chat.models import (
    Conversation,
    Message,
    MessageEdit,
    MessageReaction,
    MessageType,
    Participant,
    ParticipantRole,
)
from documents.models import Document, DocumentShare, DocumentVersion, ShareLevel

# Published on purpose (README, command output): these accounts exist to be signed into.
DEMO_PASSWORD = "atrium-demo-password"  # noqa: S105
DEMO_EMAIL_DOMAIN = "atrium.local"
_SEED = "atrium-demo"
_CENT = Decimal("0.01")


def _rng(key: str) -> random.Random:
    # A string seed is hashed with SHA-512, not Python's per-process hash, so it is stable.
    # Variety for demo data, never a secret.
    return random.Random(f"{_SEED}:{key}")  # noqa: S311


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass
class DemoSummary:
    """What a run created, and the accounts it promises can sign in."""

    dry_run: bool = False
    # verbose_name_plural → rows created, in the order the data set builds them.
    created: Counter[str] = field(default_factory=Counter)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (email, role)

    def add(self, model: type[models.Model], count: int = 1) -> None:
        if count:
            self.created[str(model._meta.verbose_name_plural)] += count


# --- people ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    handle: str
    display_name: str
    bio: str
    role: str
    is_staff: bool = False

    @property
    def email(self) -> str:
        return f"{self.handle}@{DEMO_EMAIL_DOMAIN}"

    @property
    def first_name(self) -> str:
        return self.display_name.split()[0]


DEMO_USERS: tuple[DemoUser, ...] = (
    # Not a superuser: the admin's rights come from the admin role, as a real admin's would.
    DemoUser("admin", "Alex Morgan", "Runs the back office. Ask me for access.", "admin", True),
    DemoUser(
        "billing",
        "Priya Natarajan",
        "Invoices, payments and the odd refund.",
        "billing_manager",
        True,
    ),
    DemoUser("staff", "Sam Okafor", "Support lead; I read every ticket.", "staff", True),
    DemoUser("ana", "Ana Souza", "Product manager. Coffee first, roadmap second.", "member"),
    DemoUser("ben", "Ben Carter", "Backend engineer, fond of boring technology.", "member"),
    DemoUser(
        "chloe", "Chloé Martin", "Designer. Pixels, type and the occasional font war.", "member"
    ),
    DemoUser("dev", "Dev Patel", "Keeps the servers up and the pager quiet.", "member"),
    DemoUser("elena", "Elena Petrova", "Customer support, fluent in four languages.", "member"),
    DemoUser(
        "farid", "Farid Haddad", "Support engineer; writes the macros nobody else will.", "member"
    ),
    DemoUser("grace", "Grace Kim", "Office manager and keeper of the snack budget.", "member"),
    DemoUser("hugo", "Hugo Lindqvist", "Frontend engineer, part-time illustrator.", "member"),
)
DEMO_USERS_BY_HANDLE: dict[str, DemoUser] = {user.handle: user for user in DEMO_USERS}


def _ensure_user(*, spec: DemoUser, roles: dict[str, Role], summary: DemoSummary) -> User:
    """Creates the demo account or puts back what its printed login depends on."""
    wanted = {"is_staff": spec.is_staff, "is_active": True, "verified": True}
    user = User.objects.filter(email__iexact=spec.email).first()
    if user is None:
        user = User.objects.create_user(spec.email, DEMO_PASSWORD, **wanted)
        summary.add(User)
    else:
        changed = [name for name, value in wanted.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, wanted[name])
        # Comparing first keeps a re-run from rewriting every hash (a fresh salt each time).
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            changed.append("password")
        if changed:
            user.save(update_fields=changed)

    _, created = UserProfile.objects.get_or_create(
        user=user, defaults={"display_name": spec.display_name, "bio": spec.bio}
    )
    summary.add(UserProfile, created)
    user_set_roles(user=user, roles=[roles[spec.role]])
    summary.logins.append((user.email, spec.role))
    return user


# --- chat -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoConversation:
    title: str
    creator: str
    admins: tuple[str, ...]
    members: tuple[str, ...]
    topics: tuple[str, ...]
    started_days_ago: int


CONVERSATIONS: tuple[DemoConversation, ...] = (
    DemoConversation(
        "Launch planning",
        "ana",
        ("ben",),
        ("chloe", "dev", "grace"),
        ("the launch checklist", "the pricing page", "the press kit", "the beta feedback"),
        started_days_ago=24,
    ),
    DemoConversation(
        "Design critique",
        "chloe",
        (),
        ("ana", "hugo"),
        ("the new icon set", "the onboarding screens", "dark mode", "the empty states"),
        started_days_ago=17,
    ),
    DemoConversation(
        "Support rotation",
        "elena",
        ("staff",),
        ("farid",),
        ("the weekend rota", "the refund macro", "the backlog of tickets", "the SLA report"),
        started_days_ago=12,
    ),
    DemoConversation(
        "Q3 invoicing",
        "billing",
        ("admin",),
        ("ben",),
        ("the overdue invoices", "the Northwind renewal", "the payment reminders", "VAT rates"),
        started_days_ago=9,
    ),
    DemoConversation(
        "Lunch & random",
        "grace",
        (),
        ("ana", "dev", "farid", "hugo"),
        ("the Friday lunch order", "the office plants", "the team offsite", "the new coffee"),
        started_days_ago=6,
    ),
)

# {topic}: one of the conversation's topics; {name}: another participant; {day}: a day.
MESSAGE_TEMPLATES: tuple[str, ...] = (
    "Has anyone had a look at {topic} yet?",
    "I pushed an update to {topic}, comments welcome.",
    "{name}, could you take {topic} this week?",
    "Quick heads-up: {topic} slips to {day}.",
    "{topic} is nearly done, just waiting on a review.",
    "Can we go through {topic} at standup {day}?",
    "Left a few notes on {topic}.",
    "{topic} looks good to me 👍",
    "Who owns {topic} now?",
    "Blocked on {topic} until {day}, FYI.",
    "Thanks {name}!",
    "Sounds good.",
    "On it.",
    "Sorry, heads-down today. Catching up now.",
    "Agreed with {name} on this one.",
)
DAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "tomorrow")


def _chat_line(*, rng: random.Random, topics: tuple[str, ...], other: DemoUser) -> str:
    line = rng.choice(MESSAGE_TEMPLATES).format(
        topic=rng.choice(topics), name=other.first_name, day=rng.choice(DAYS)
    )
    return line[0].upper() + line[1:]


def _seed_conversation(
    *,
    spec: DemoConversation,
    users: dict[str, User],
    now: datetime,
    summary: DemoSummary,
) -> None:
    rng = _rng(f"conversation:{spec.title}")
    started = now - timedelta(days=spec.started_days_ago)
    roles = {
        spec.creator: ParticipantRole.OWNER,
        **dict.fromkeys(spec.admins, ParticipantRole.ADMIN),
        **dict.fromkeys(spec.members, ParticipantRole.MEMBER),
    }
    creator = DEMO_USERS_BY_HANDLE[spec.creator]

    sent_at = started
    participants, messages = [], []
    for handle, role in roles.items():
        participants.append(Participant(user=users[handle], role=role, joined_at=sent_at))
        if handle == spec.creator:
            continue
        # PRODUCT.md has the chat service write this line when someone is added.
        messages.append(
            Message(
                sender=users[spec.creator],
                message_type=MessageType.SYSTEM,
                content=f"{creator.first_name} added {DEMO_USERS_BY_HANDLE[handle].first_name}",
                metadata={
                    "event_type": "participant_added",
                    "payload": {"user_id": str(users[handle].pk), "role": role},
                },
                sent_at=sent_at,
            )
        )
        sent_at += timedelta(seconds=rng.randint(5, 90))

    handles = list(roles)
    sender = spec.creator
    for _ in range(rng.randint(10, 30)):
        # Someone other than the last speaker, so the lines read as replies.
        sender = rng.choice([h for h in handles if h != sender])
        other = DEMO_USERS_BY_HANDLE[rng.choice([h for h in handles if h != sender])]
        # At most three hours apart and at most thirty messages: the last is days before now.
        sent_at += timedelta(minutes=rng.randint(2, 180))
        messages.append(
            Message(
                sender=users[sender],
                message_type=MessageType.TEXT,
                content=_chat_line(rng=rng, topics=spec.topics, other=other),
                sent_at=sent_at,
            )
        )

    # updated_at is set on INSERT because the trigger would overwrite it on any UPDATE;
    # lists sort conversations by it as their latest activity.
    # The first line was edited (its draft kept in the history) and the last one got a
    # reaction from the first person it was not written by.
    texts = [m for m in messages if m.message_type == MessageType.TEXT]
    texts[0].edited_at = texts[0].sent_at + timedelta(minutes=1)
    for message in messages:
        message.changed_at = message.edited_at or message.sent_at
    reactor = next(users[h] for h in handles if users[h] != texts[-1].sender)
    conversation = Conversation.objects.create(
        title=spec.title, created_at=started, updated_at=sent_at, last_activity_at=sent_at
    )
    for row in participants + messages:
        row.conversation = conversation
    Participant.objects.bulk_create(participants)
    Message.objects.bulk_create(messages)
    MessageEdit.objects.create(
        message=texts[0],
        editor=texts[0].sender,
        previous_content=texts[0].content.rstrip(".!?👍") + "…",
        previous_metadata={},
        edited_at=texts[0].edited_at,
    )
    MessageReaction.objects.create(
        message=texts[-1], user=reactor, emoji="👍", created_at=texts[-1].sent_at
    )
    summary.add(Conversation)
    summary.add(Participant, len(participants))
    summary.add(Message, len(messages))
    summary.add(MessageEdit)
    summary.add(MessageReaction)


# --- documents ------------------------------------------------------------------------------


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
    rng = _rng(f"document:{spec.owner}:{spec.title}")
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


# --- billing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoProduct:
    name: str
    description: str
    price: Decimal
    active: bool = True


PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct("Team plan (monthly)", "Up to 10 seats, billed monthly.", Decimal("49.00")),
    DemoProduct("Business plan (monthly)", "Unlimited seats and SSO.", Decimal("199.00")),
    DemoProduct("Onboarding workshop", "Half a day, on site or remote.", Decimal("750.00")),
    DemoProduct("Priority support (annual)", "Four-hour response, all year.", Decimal("1200.00")),
    DemoProduct("Extra storage, 100 GB", "Added to any plan.", Decimal("9.50")),
    # Kept so old invoices still make sense; no longer sold.
    DemoProduct("Starter plan (legacy)", "Replaced by the Team plan.", Decimal("19.00"), False),
)


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    email: str
    phone: str
    address: str


CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        "Northwind Traders",
        "accounts@northwind.example",
        "+1 555 0100 210",
        "12 Harbor Road\nSeattle, WA 98101",
    ),
    DemoCustomer(
        "Bluebird Bakery", "hello@bluebird.example", "+44 20 7946 0321", "4 Mill Lane\nBath BA1 1AA"
    ),
    DemoCustomer(
        "Kestrel Logistics",
        "finance@kestrel.example",
        "+49 30 901820",
        "Lagerstraße 7\n10115 Berlin",
    ),
    DemoCustomer(
        "Marigold Dental Clinic",
        "office@marigold.example",
        "+1 555 0100 877",
        "300 Elm Street, Suite 2\nPortland, OR 97205",
    ),
    DemoCustomer(
        "Orbit Robotics",
        "ap@orbit.example",
        "+33 1 70 18 99 00",
        "18 rue des Ateliers\n69002 Lyon",
    ),
)


@dataclass(frozen=True)
class InvoicePlan:
    status: InvoiceStatus
    due_in_days: int  # negative: the due date has passed
    partly_paid: bool = False


# Dealt round-robin to the customers: customer i gets plans i, i + 5, i + 10.
INVOICE_PLANS: tuple[InvoicePlan, ...] = (
    InvoicePlan(InvoiceStatus.PAID, -40),
    InvoicePlan(InvoiceStatus.OPEN, -10),
    InvoicePlan(InvoiceStatus.PAID, -20),
    InvoicePlan(InvoiceStatus.DRAFT, 30),
    InvoicePlan(InvoiceStatus.OPEN, -25, partly_paid=True),
    InvoicePlan(InvoiceStatus.OPEN, 14),
    InvoicePlan(InvoiceStatus.PAID, -5),
    InvoicePlan(InvoiceStatus.VOID, -30),
    InvoicePlan(InvoiceStatus.UNCOLLECTIBLE, -90),
    InvoicePlan(InvoiceStatus.PAID, -60),
    InvoicePlan(InvoiceStatus.DRAFT, 45),
    InvoicePlan(InvoiceStatus.OPEN, 7),
)


def _invoice_lines(*, rng: random.Random) -> list[InvoiceLine]:
    """A few products on sale times a number of seats."""
    on_sale = [p for p in PRODUCTS if p.active]
    lines = []
    for position, product in enumerate(rng.sample(on_sale, k=rng.randint(1, 3)), start=1):
        quantity = Decimal(rng.randint(1, 5))
        lines.append(
            InvoiceLine(
                position=position,
                description=product.name,
                quantity=quantity,
                unit_price=product.price,
                total=_money(product.price * quantity),
            )
        )
    return lines


def _payment_history(
    *, rng: random.Random, amount: Decimal, plan: InvoicePlan
) -> list[tuple[Decimal, PaymentStatus, dict]]:
    """(amount, status, metadata) of the payments that explain the invoice's status, oldest
    first."""
    if plan.status == InvoiceStatus.PAID:
        history = []
        if rng.random() < 0.3:
            history.append((amount, PaymentStatus.FAILED, {"reason": "card_declined"}))
        # Some customers pay in two instalments; succeeded payments always cover the amount.
        first = _money(amount * Decimal(rng.uniform(0.3, 0.7)))
        instalments = [first, amount - first] if rng.random() < 0.5 else [amount]
        return history + [(part, PaymentStatus.SUCCEEDED, {}) for part in instalments]
    if plan.partly_paid:
        return [(_money(amount * Decimal("0.4")), PaymentStatus.SUCCEEDED, {})]
    if plan.status == InvoiceStatus.UNCOLLECTIBLE:
        return [(amount, PaymentStatus.FAILED, {"reason": "insufficient_funds"})]
    if plan.status == InvoiceStatus.VOID:
        # Billed in error after the customer had paid: refunded in full, then voided.
        return [(amount, PaymentStatus.REFUNDED, {"reason": "billed_in_error"})]
    return []


def _closing_stamp(status: InvoiceStatus, at: datetime) -> dict[str, datetime]:
    """The ``<stamp>_at`` column recording how an invoice left ``open``, if it did."""
    if status == InvoiceStatus.PAID:
        return {"paid_at": at}
    closing = CLOSINGS.get(status)
    return {f"{closing.stamp}_at": at} if closing else {}


def _seed_customer(*, index: int, spec: DemoCustomer, now: datetime, summary: DemoSummary) -> None:
    rng = _rng(f"customer:{spec.email}")
    customer = Customer.objects.create(
        name=spec.name, email=spec.email, phone=spec.phone, address=spec.address
    )
    summary.add(Customer)
    for plan in INVOICE_PLANS[index :: len(CUSTOMERS)]:
        due = now + timedelta(days=plan.due_in_days)
        # Issued a month before it falls due, but never in the future.
        issued = min(due - timedelta(days=30), now - timedelta(days=1))
        lines = _invoice_lines(rng=rng)
        # Lines freeze once an invoice leaves draft (a trigger holds it), so the invoice is
        # written as a draft with its lines first and then given its final status.
        invoice = Invoice.objects.create(
            customer=customer,
            amount=sum((line.total for line in lines), Decimal("0")),
            status=InvoiceStatus.DRAFT,
            due_date=due,
            created_at=issued,
            updated_at=issued,
        )
        for line in lines:
            line.invoice = invoice
        InvoiceLine.objects.bulk_create(lines)
        summary.add(InvoiceLine, len(lines))
        history = _payment_history(rng=rng, amount=invoice.amount, plan=plan)
        # Paid between issue and a week after the due date, and never in the future.
        last = min(due + timedelta(days=7), now - timedelta(hours=1))
        paid_at = sorted(issued + (last - issued) * rng.random() for _ in history)
        closed_at = paid_at[-1] if plan.status == InvoiceStatus.PAID else min(due, now)
        if plan.status != InvoiceStatus.DRAFT:
            Invoice.objects.filter(pk=invoice.pk).update(
                status=plan.status,
                number=invoice_number_allocate(year=issued.year),
                finalized_at=issued,
                **_closing_stamp(plan.status, closed_at),
            )
        payments = Payment.objects.bulk_create(
            Payment(
                invoice=invoice,
                amount=amount,
                status=status,
                provider=rng.choice(PaymentProvider.values),
                metadata=metadata,
                created_at=created_at,
                refunded_amount=amount if status == PaymentStatus.REFUNDED else Decimal("0"),
            )
            for (amount, status, metadata), created_at in zip(history, paid_at, strict=True)
        )
        refunds = Refund.objects.bulk_create(
            Refund(payment=p, amount=p.amount, reason="Billed in error", created_at=closed_at)
            for p in payments
            if p.status == PaymentStatus.REFUNDED
        )
        summary.add(Refund, len(refunds))
        summary.add(Invoice)
        summary.add(Payment, len(history))


# --- the whole set --------------------------------------------------------------------------


def seed_demo(*, dry_run: bool = False) -> DemoSummary:
    """Builds (or completes) the demo data set in one transaction; with ``dry_run`` the
    transaction is rolled back and the summary tells what would have been created."""
    summary = DemoSummary(dry_run=dry_run)
    now = timezone.now()
    # Durable: the whole set commits or nothing does, so it is never half there.
    with transaction.atomic(durable=True):
        synced = permissions_sync()
        summary.add(Permission, synced.permissions_created)
        summary.add(Role, synced.roles_created)

        roles = {role.name: role for role in Role.objects.all()}
        users = {
            spec.handle: _ensure_user(spec=spec, roles=roles, summary=summary)
            for spec in DEMO_USERS
        }
        for spec in CONVERSATIONS:
            if not Conversation.all_objects.filter(title=spec.title).exists():
                _seed_conversation(spec=spec, users=users, now=now, summary=summary)
        for spec in DOCUMENTS:
            if not Document.all_objects.filter(owner=users[spec.owner], title=spec.title).exists():
                _seed_document(spec=spec, users=users, now=now, summary=summary)
        for spec in PRODUCTS:
            if not Product.all_objects.filter(name=spec.name).exists():
                Product.objects.create(
                    name=spec.name,
                    description=spec.description,
                    price=spec.price,
                    active=spec.active,
                )
                summary.add(Product)
        for index, spec in enumerate(CUSTOMERS):
            if not Customer.all_objects.filter(email=spec.email).exists():
                _seed_customer(index=index, spec=spec, now=now, summary=summary)

        if dry_run:
            transaction.set_rollback(True)
    return summary
