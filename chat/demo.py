"""The demo's conversations: a few teams talking, with an edit and a reaction each.

Built only through chat's services, as its people would through the API, so every row obeys
the chat rules and every change is announced. The services write the time of now: the talk
happens as the demo is seeded (minutes old, in the order below), not over past weeks.
"""

import random
from dataclasses import dataclass

from accounts.demo import DEMO_USERS_BY_HANDLE, DemoUser
from accounts.models import User
from chat.models import (
    Conversation,
    Message,
    MessageEdit,
    MessageReaction,
    Participant,
    ParticipantRole,
)
from chat.services import conversations, messages, reactions
from core.context import SYSTEM
from core.demo import DemoSummary, demo_rng


@dataclass(frozen=True)
class DemoConversation:
    title: str
    creator: str
    admins: tuple[str, ...]
    members: tuple[str, ...]
    topics: tuple[str, ...]

    @property
    def roles(self) -> dict[str, str]:
        """Everyone in it by handle, the creator first."""
        return {
            self.creator: ParticipantRole.OWNER,
            **dict.fromkeys(self.admins, ParticipantRole.ADMIN),
            **dict.fromkeys(self.members, ParticipantRole.MEMBER),
        }


CONVERSATIONS: tuple[DemoConversation, ...] = (
    DemoConversation(
        "Launch planning",
        "ana",
        ("ben",),
        ("chloe", "dev", "grace"),
        ("the launch checklist", "the pricing page", "the press kit", "the beta feedback"),
    ),
    DemoConversation(
        "Design critique",
        "chloe",
        (),
        ("ana", "hugo"),
        ("the new icon set", "the onboarding screens", "dark mode", "the empty states"),
    ),
    DemoConversation(
        "Support rotation",
        "elena",
        ("staff",),
        ("farid",),
        ("the weekend rota", "the refund macro", "the backlog of tickets", "the SLA report"),
    ),
    DemoConversation(
        "Q3 invoicing",
        "billing",
        ("admin",),
        ("ben",),
        ("the overdue invoices", "the Northwind renewal", "the payment reminders", "VAT rates"),
    ),
    DemoConversation(
        "Lunch & random",
        "grace",
        (),
        ("ana", "dev", "farid", "hugo"),
        ("the Friday lunch order", "the office plants", "the team offsite", "the new coffee"),
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


def _lines(spec: DemoConversation) -> list[tuple[str, str]]:
    """What is said, in order: (sender handle, text), 10 to 30 lines."""
    rng = demo_rng(f"conversation:{spec.title}")
    handles = list(spec.roles)
    lines, sender = [], spec.creator
    for _ in range(rng.randint(10, 30)):
        # Someone other than the last speaker, so the lines read as replies.
        sender = rng.choice([h for h in handles if h != sender])
        other = DEMO_USERS_BY_HANDLE[rng.choice([h for h in handles if h != sender])]
        lines.append((sender, _chat_line(rng=rng, topics=spec.topics, other=other)))
    return lines


def _seed_conversation(
    *, spec: DemoConversation, lines: list[tuple[str, str]], users: dict[str, User]
) -> None:
    """The conversation with its people (each added by a system message), its lines, the
    first of them posted as a draft and edited (the draft kept in its history), and a 👍 on
    the last one from the first person who did not write it."""
    roles = spec.roles
    conversation = conversations.conversation_create(
        creator=users[spec.creator],
        title=spec.title,
        participants=[(users[h], role) for h, role in roles.items() if h != spec.creator],
        context=SYSTEM,
    )
    for index, (handle, text) in enumerate(lines):
        first = index == 0
        message = messages.message_post(
            conversation_id=conversation.pk,
            sender=users[handle],
            content=text.rstrip(".!?👍 ") + "…" if first else text,
            context=SYSTEM,
        )
        if first:
            messages.message_edit(
                conversation_id=conversation.pk,
                message_id=message.pk,
                actor=users[handle],
                content=text,
                context=SYSTEM,
            )
    reactor = next(h for h in roles if h != lines[-1][0])
    reactions.reaction_add(
        conversation_id=conversation.pk,
        message_id=message.pk,
        actor=users[reactor],
        emoji="👍",
        context=SYSTEM,
    )


def seed_chat(*, users: dict[str, User], summary: DemoSummary) -> None:
    """Each conversation not there yet (by title, deleted ones included). A dry run writes
    nothing and counts what would be made."""
    for spec in CONVERSATIONS:
        if Conversation.all_objects.filter(title=spec.title).exists():
            continue
        lines = _lines(spec)
        if not summary.dry_run:
            _seed_conversation(spec=spec, lines=lines, users=users)
        others = len(spec.roles) - 1
        summary.add(Conversation)
        summary.add(Participant, others + 1)
        # A system message for each person added, then the lines.
        summary.add(Message, others + len(lines))
        summary.add(MessageEdit)
        summary.add(MessageReaction)
