"""A large chat data set, loaded fast: ``manage.py seed_chat_scale`` (10 million messages across
100,000 conversations and 10,000 users by default).

How it is fast:

- PostgreSQL generates the rows itself (``INSERT ... SELECT`` over ``generate_series``) in
  batches of ``batch`` messages, two batches at a time on two connections, so no row crosses
  the wire and both cores work; the vocabulary the texts are drawn from is sent once with
  ``COPY``.
- The messages table's indexes and foreign keys (and the foreign keys that point at it) are
  dropped for the load and built again afterwards (``core.scale.indexes_deferred``, shared by
  every loader of a large table; an interrupted load is repaired by ``--repair``).
- ``synchronous_commit`` is off for the loading sessions and ``maintenance_work_mem`` is raised
  for the index builds; ``VACUUM ANALYZE`` ends the load so the planner knows the new sizes and
  the first readers do not pay for setting hint bits.

The data: users ``scale-<n>@scale.invalid`` (no usable password, ``member`` role) with
profiles; conversations of 2 to 8 participants (one owner, an admin from four up), the first
ten "busy" ones with 50 participants and ``busy_share`` of all messages between them; messages
spread over the past year in time order, a few replies, edits, deletions and reactions;
participants have read all but the last few messages of each conversation.

Around the services on purpose: ten million rows through message_post would take days, and
nobody is told of a benchmark's data (no announcements). Its SQL stays here rather than in
chat/sql.py, which holds what requests and the benchmark floor send; this is a loader's, run
by ``seed_chat_scale`` only.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg

from core.scale import indexes_deferred, loading_session, pending_refusal

BUSY_CONVERSATIONS = 10
BUSY_PARTICIPANTS = 50
EMAIL_DOMAIN = "scale.invalid"
PHRASES = 50_000
# Primes used to give each conversation distinct participants without a lookup.
_USER_STRIDE, _CONVERSATION_STRIDE = 104_729, 7_919

WORDS = tuple(
    " ".join(
        (
            "launch roadmap invoice customer design review deploy release meeting budget",
            "sprint ticket backlog pricing feedback onboarding dashboard report migration",
            "database server coffee lunch offsite holiday schedule deadline contract renewal",
            "support refund macro weekend rota pager incident postmortem metrics latency",
            "throughput cache index query search message thread reply emoji reaction upload",
            "file draft proposal slide deck hiring interview candidate salary benefit office",
            "plant printer wifi laptop monitor please thanks sorry agreed done blocked",
            "waiting shipped merged tested fixed broken today tomorrow monday tuesday",
            "wednesday thursday friday morning afternoon evening quick heads up update notes",
            "comments question answer idea plan goal risk issue",
        )
    ).split()
)


@dataclass(frozen=True)
class ScalePlan:
    users: int
    conversations: int
    messages: int
    busy_share: float = 0.1
    batch: int = 250_000
    workers: int = 2
    seed: int = 42

    def __post_init__(self) -> None:
        if self.conversations <= BUSY_CONVERSATIONS or self.users < BUSY_PARTICIPANTS:
            raise ValueError(
                f"Needs more than {BUSY_CONVERSATIONS} conversations and at least "
                f"{BUSY_PARTICIPANTS} users."
            )


Progress = Callable[[str], None]


def _timed(report: Progress, label: str, work: Callable[[], object]) -> None:
    started = time.monotonic()
    work()
    report(f"{label} ({time.monotonic() - started:.1f}s)")


def refusal() -> str | None:
    """Why ``load`` would refuse to start now, or None; a dry run asks the same question."""
    return pending_refusal()


# --- the rows -------------------------------------------------------------------------------


def _phrases(plan: ScalePlan) -> Iterator[tuple[int, str]]:
    rng = random.Random(plan.seed)  # noqa: S311 (demo text)
    for index in range(PHRASES):
        words = rng.choices(WORDS, k=rng.randint(3, 18))
        yield index, " ".join(words).capitalize() + rng.choice(".!?…")


def _prepare(db: psycopg.Connection, plan: ScalePlan, report: Progress) -> None:
    """Users, profiles, roles, conversations and participants, plus the lookup tables the
    message batches join (index → id)."""
    db.execute("CREATE UNLOGGED TABLE IF NOT EXISTS scale_phrases (idx int PRIMARY KEY, body text)")
    db.execute("TRUNCATE scale_phrases")
    with db.cursor().copy("COPY scale_phrases (idx, body) FROM STDIN") as copy:
        for row in _phrases(plan):
            copy.write_row(row)

    # Users that a previous run made are kept; their numbering continues.
    db.execute(
        """
        INSERT INTO users (email, password_hash, verified)
        SELECT 'scale-' || n || %s, '!', true FROM generate_series(0, %s - 1) n
        ON CONFLICT DO NOTHING
        """,
        [f"@{EMAIL_DOMAIN}", plan.users],
    )
    db.execute(
        """
        INSERT INTO user_profiles (user_id, display_name)
        SELECT id, initcap(split_part(email, '@', 1)) FROM users WHERE email LIKE %s
        ON CONFLICT DO NOTHING
        """,
        [f"scale-%@{EMAIL_DOMAIN}"],
    )
    db.execute(
        """
        INSERT INTO user_roles (user_id, role_id)
        SELECT u.id, r.id FROM users u, roles r WHERE u.email LIKE %s AND r.name = 'member'
        ON CONFLICT DO NOTHING
        """,
        [f"scale-%@{EMAIL_DOMAIN}"],
    )
    db.execute("DROP TABLE IF EXISTS scale_users, scale_conversations")
    db.execute(
        """
        CREATE UNLOGGED TABLE scale_users AS
        SELECT (substring(email from 'scale-(\\d+)@'))::int AS idx, id FROM users
        WHERE email LIKE %s
        """,
        [f"scale-%@{EMAIL_DOMAIN}"],
    )
    db.execute("ALTER TABLE scale_users ADD PRIMARY KEY (idx)")
    report(f"{plan.users:,} users with profiles and the member role")

    # Conversations: a start time in the past year; busy ones are a year old.
    db.execute("SELECT setseed(%s)", [1 / (plan.seed + 1)])
    db.execute(
        """
        CREATE UNLOGGED TABLE scale_conversations AS
        SELECT n AS idx, gen_random_uuid() AS id,
               CASE WHEN n < %(busy)s THEN %(busy_size)s ELSE 2 + floor(random() * 7)::int END
                   AS size,
               now() - interval '366 days' AS started
        FROM generate_series(0, %(count)s - 1) n
        """,
        {"busy": BUSY_CONVERSATIONS, "busy_size": BUSY_PARTICIPANTS, "count": plan.conversations},
    )
    db.execute("ALTER TABLE scale_conversations ADD PRIMARY KEY (idx)")
    db.execute(
        """
        INSERT INTO conversations (id, title, created_at, updated_at, last_activity_at)
        SELECT id, CASE WHEN idx < %s THEN 'Busy room ' ELSE 'Scale chat ' END || idx,
               started, started, started
        FROM scale_conversations
        """,
        [BUSY_CONVERSATIONS],
    )
    db.execute(
        """
        INSERT INTO participants (conversation_id, user_id, role, joined_at)
        SELECT c.id, u.id,
               CASE WHEN s = 0 THEN 'owner' WHEN s = 1 AND c.size >= 4 THEN 'admin'
                    ELSE 'member' END,
               c.started
        FROM scale_conversations c
        CROSS JOIN LATERAL generate_series(0, c.size - 1) s
        JOIN scale_users u ON u.idx = (c.idx * %s + s * %s) %% %s
        """,
        [_CONVERSATION_STRIDE, _USER_STRIDE, plan.users],
    )
    report(f"{plan.conversations:,} conversations with their participants")


# One batch: messages lo..hi-1 in time order over the past year, each in a conversation (busy
# ones with probability busy_share) and from one of its participants (the same arithmetic as
# the participants INSERT).
_MESSAGES_SQL = """
    INSERT INTO messages (id, conversation_id, sender_id, content, message_type, metadata,
                          sent_at, changed_at, edited_at, deleted_at)
    SELECT gen_random_uuid(), c.id, u.id, p.body, 'text', '{}',
           g.sent_at,
           g.sent_at + CASE WHEN g.fate < 0.01 THEN interval '5 minutes' ELSE interval '0' END,
           CASE WHEN g.fate < 0.005 THEN g.sent_at + interval '5 minutes' END,
           CASE WHEN g.fate >= 0.005 AND g.fate < 0.01 THEN g.sent_at + interval '5 minutes'
           END
    FROM (
        SELECT n,
               now() - interval '365 days' + (n::float8 / %(total)s) * interval '365 days'
                   - interval '1 hour' AS sent_at,
               CASE WHEN random() < %(busy_share)s THEN floor(random() * %(busy)s)::int
                    ELSE %(busy)s + floor(random() * (%(conversations)s - %(busy)s))::int
               END AS conversation_idx,
               random() AS pick, random() AS fate,
               floor(random() * %(phrases)s)::int AS phrase_idx
        FROM generate_series(%(lo)s, %(hi)s - 1) n
    ) g
    JOIN scale_conversations c ON c.idx = g.conversation_idx
    JOIN scale_users u
      ON u.idx = (c.idx * %(cstride)s + floor(g.pick * c.size)::int * %(ustride)s) %% %(users)s
    JOIN scale_phrases p ON p.idx = g.phrase_idx
"""


def _load_messages(plan: ScalePlan, report: Progress) -> None:
    batches = [
        (lo, min(lo + plan.batch, plan.messages)) for lo in range(0, plan.messages, plan.batch)
    ]
    done, lock, started = 0, threading.Lock(), time.monotonic()

    def load(batch: tuple[int, int]) -> None:
        nonlocal done
        lo, hi = batch
        with loading_session() as db:
            db.execute("SELECT setseed(%s)", [((plan.seed * 7919 + lo) % 10_007) / 10_007])
            db.execute(
                _MESSAGES_SQL,
                {
                    "lo": lo,
                    "hi": hi,
                    "total": plan.messages,
                    "busy_share": plan.busy_share,
                    "busy": BUSY_CONVERSATIONS,
                    "conversations": plan.conversations,
                    "phrases": PHRASES,
                    "cstride": _CONVERSATION_STRIDE,
                    "ustride": _USER_STRIDE,
                    "users": plan.users,
                },
            )
        with lock:
            done += hi - lo
            elapsed = time.monotonic() - started
            rate = done / elapsed
            eta = (plan.messages - done) / rate if rate else 0
            report(
                f"  messages {done:>12,} / {plan.messages:,}"
                f"  {100 * done / plan.messages:5.1f}%  {rate:,.0f}/s  eta {eta:,.0f}s"
            )

    with ThreadPoolExecutor(max_workers=plan.workers) as pool:
        list(pool.map(load, batches))


def _finish(db: psycopg.Connection, plan: ScalePlan, report: Progress) -> None:
    """Latest activity, replies, reactions and read markers, from the loaded messages."""
    # Both walk the conversation's newest-first index rather than sorting ten million rows.
    _timed(
        report,
        "latest activity of each conversation",
        lambda: db.execute(
            """
            UPDATE conversations c SET last_activity_at = coalesce((
                SELECT m.sent_at FROM messages m WHERE m.conversation_id = c.id
                ORDER BY m.sent_at DESC, m.id DESC LIMIT 1), c.last_activity_at)
            FROM scale_conversations s WHERE s.id = c.id
            """
        ),
    )
    # 1% of messages reply to the message before them in their conversation; 2% carry a
    # reaction (their sender's own: a participant, and no lookup).
    _timed(
        report,
        "replies",
        lambda: db.execute(
            """
            UPDATE messages m SET parent_id = (
                SELECT p.id FROM messages p
                WHERE p.conversation_id = m.conversation_id
                  AND (p.sent_at, p.id) < (m.sent_at, m.id)
                ORDER BY p.sent_at DESC, p.id DESC LIMIT 1)
            FROM scale_conversations s
            WHERE s.id = m.conversation_id AND m.deleted_at IS NULL
              AND abs(hashtext(m.id::text)) % 100 = 0
            """
        ),
    )
    _timed(
        report,
        "reactions",
        lambda: db.execute(
            """
            INSERT INTO message_reactions (message_id, user_id, emoji, created_at)
            SELECT m.id, m.sender_id,
                   (ARRAY['👍', '🎉', '❤️', '😂', '👀'])[1 + abs(hashtext(m.id::text)) % 5],
                   m.sent_at + interval '1 minute'
            FROM messages m JOIN scale_conversations s ON s.id = m.conversation_id
            WHERE m.deleted_at IS NULL AND abs(hashtext(m.id::text)) % 50 = 1
            ON CONFLICT DO NOTHING
            """
        ),
    )
    # Everyone has read all but the last 0-9 messages of each conversation.
    _timed(
        report,
        "read markers",
        lambda: db.execute(
            """
            UPDATE participants p SET last_read_message_id = r.id, last_read_at = r.sent_at
            FROM scale_conversations s
            CROSS JOIN LATERAL (
                SELECT m.id, m.sent_at FROM messages m
                WHERE m.conversation_id = s.id
                ORDER BY m.sent_at DESC, m.id DESC
                OFFSET abs(hashtext(s.id::text)) % 10 LIMIT 1
            ) r
            WHERE p.conversation_id = s.id
            """
        ),
    )


def load(plan: ScalePlan, report: Progress = print) -> None:
    """Loads the data set described by ``plan`` into the database Django is configured for."""
    started = time.monotonic()
    if reason := refusal():
        raise RuntimeError(reason)
    with loading_session() as db:
        _timed(report, "users, conversations, participants", lambda: _prepare(db, plan, report))
    with indexes_deferred(["messages"], report):
        _timed(report, "messages", lambda: _load_messages(plan, report))
    with loading_session() as db:
        _finish(db, plan, report)
        _timed(
            report,
            "vacuum analyze",
            lambda: [
                db.execute(f"VACUUM (ANALYZE) {table}")
                for table in (
                    "messages",
                    "conversations",
                    "participants",
                    "message_reactions",
                    "users",
                    "user_profiles",
                    "user_roles",
                )
            ],
        )
        db.execute("DROP TABLE scale_phrases, scale_users, scale_conversations")
    report(f"done in {time.monotonic() - started:,.0f}s")
