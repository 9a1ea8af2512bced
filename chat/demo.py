"""The demo's conversations: a few teams talking, with an edit and a reaction each."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts.demo import DEMO_USERS_BY_HANDLE, DemoUser
from accounts.models import User
from chat.models import (
    Conversation,
    Message,
    MessageEdit,
    MessageReaction,
    MessageType,
    Participant,
    ParticipantRole,
)
from core.demo import DemoSummary, demo_rng


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
    rng = demo_rng(f"conversation:{spec.title}")
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


def seed_chat(*, users: dict[str, User], now: datetime, summary: DemoSummary) -> None:
    for spec in CONVERSATIONS:
        if not Conversation.all_objects.filter(title=spec.title).exists():
            _seed_conversation(spec=spec, users=users, now=now, summary=summary)
