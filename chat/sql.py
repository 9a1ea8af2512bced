"""Chat's hand-written SQL, as text and parameters, free of Django: the hot lists, posting,
and the writes whose locking, ordering or ON CONFLICT the ORM cannot say. (chat/scale.py, the
benchmark data loader behind ``manage.py seed_chat_scale``, keeps its bulk-loading SQL to
itself: no request runs it, and no floor measures it.)

chat/selectors.py and chat/services/ run these statements through Django's connection;
bench/floor_chat.py runs the very same ones through a bare psycopg pool, so the benchmark's
floor measures Atrium's SQL and nothing else.

The pages are built as JSON by PostgreSQL: one statement checks membership, walks the index
from the cursor and aggregates the rows (``row_to_json``), and the view passes the text
through. Per-row Python work (model instances, serializer fields, datetime formatting) is what
made such endpoints slow (README.md, "Performance", chat section). The shapes are documented
by the output serializers in chat/api/serializers.py, which tests hold the JSON to.

Every interpolated piece is one of this module's own constants; values are always bound
parameters (``%(name)s``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .cursors import Cursor, Direction, Key

# Must match the configuration of messages.search_vector (chat.models.SEARCH_CONFIG) for the
# GIN index to serve a search; a test holds the two together.
SEARCH_CONFIG = "english"
# Unread counts stop counting here: a badge shows "100+" rather than making the database walk
# a conversation's whole backlog for every row of the list.
UNREAD_COUNT_CAP = 100


def _ts(column: str) -> str:
    """A timestamptz as DRF writes it (UTC, ISO 8601, ``Z``), always with microseconds."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _key(at: str, row_id: str) -> str:
    return f"{_ts(at)} || ' ' || {row_id}::text"


# One message as the API shows it (chat.api.serializers.MessageOutput). A deleted message keeps
# its place and times but serves no content, metadata or reactions.
REACTIONS_JSON = """coalesce((
    SELECT ('[' || string_agg(row_to_json(r)::text, ',') || ']')::json
    FROM (SELECT emoji, count(*) AS count, bool_or(user_id = %(me)s) AS me
          FROM message_reactions WHERE message_id = m.id
          GROUP BY emoji ORDER BY min(created_at), emoji) r
    WHERE m.deleted_at IS NULL
), '[]'::json)"""

MESSAGE_JSON = f"""(SELECT row_to_json(j) FROM (SELECT
    m.id,
    m.conversation_id,
    m.sender_id,
    m.parent_id,
    m.message_type,
    CASE WHEN m.deleted_at IS NULL THEN m.content END AS content,
    CASE WHEN m.deleted_at IS NULL THEN m.metadata END AS metadata,
    {_ts("m.sent_at")} AS sent_at,
    {_ts("m.edited_at")} AS edited_at,
    {_ts("m.deleted_at")} AS deleted_at,
    {_ts("m.changed_at")} AS changed_at,
    {REACTIONS_JSON} AS reactions
) j)"""

# The caller is a participant of a live conversation.
ACCESS = """EXISTS (
    SELECT 1 FROM participants p JOIN conversations c ON c.id = p.conversation_id
    WHERE p.conversation_id = %(conversation)s AND p.user_id = %(me)s
      AND c.deleted_at IS NULL
)"""

# The read mark as a bound of the conversation's newest-first index: written as one row
# comparison (no "IS NULL OR"), PostgreSQL starts the index scan at the newest message and
# stops at the mark or at the cap, however long the conversation.
NOTHING_READ = (
    "coalesce(lr.sent_at, '-infinity'), "
    "coalesce(lr.id, '00000000-0000-0000-0000-000000000000'::uuid)"
)

# One of my conversations as the list shows it (chat.api.serializers.ConversationOutput).
# Unread: messages of others after my last read one, counted down the conversation's
# newest-first index and capped.
CONVERSATION_JSON = f"""(SELECT row_to_json(j) FROM (SELECT
    c.id,
    c.title,
    {_ts("c.created_at")} AS created_at,
    {_ts("c.last_activity_at")} AS last_activity_at,
    p.role,
    {_ts("p.joined_at")} AS joined_at,
    p.last_read_message_id,
    {_ts("p.last_read_at")} AS last_read_at,
    (SELECT count(*) FROM (
        SELECT 1 FROM messages u
        WHERE u.conversation_id = c.id AND u.deleted_at IS NULL AND u.sender_id <> p.user_id
          AND (u.sent_at, u.id) > ({NOTHING_READ})
        ORDER BY u.sent_at DESC, u.id DESC
        LIMIT {UNREAD_COUNT_CAP}
    ) unread) AS unread_count
) j)"""
CONVERSATION_SOURCE = """participants p
    JOIN conversations c ON c.id = p.conversation_id
    LEFT JOIN messages lr ON lr.id = p.last_read_message_id"""

# Posting: checks membership, takes the conversation's row lock, moves its latest activity and
# reads the clock after the lock, all in one statement (chat/services/__init__.py says why).
POST_ACTIVITY = """
    UPDATE conversations c SET last_activity_at = clock_timestamp()
    WHERE c.id = %(conversation)s AND c.deleted_at IS NULL AND EXISTS (
        SELECT 1 FROM participants p
        WHERE p.conversation_id = c.id AND p.user_id = %(me)s
    )
    RETURNING last_activity_at
"""
# A new message, at the time the statement before it read under the conversation's lock.
# ``metadata`` is JSON text. What Atrium sends for every message, and what the floor sends.
# Returns the new message as the API shows it to its sender: message.created's payload,
# without reading the row back.
INSERT_MESSAGE = f"""
    INSERT INTO messages AS m (id, conversation_id, sender_id, content, message_type, metadata,
                               parent_id, sent_at, changed_at)
    VALUES (%(message)s, %(conversation)s, %(me)s, %(content)s, %(message_type)s,
            %(metadata)s::jsonb, %(parent)s, %(at)s, %(at)s)
    RETURNING {MESSAGE_JSON}::text
"""
# Whoever posts has read the conversation up to their own message. Without this, a sender's
# own posts after their read mark made every count of their unread messages walk past them
# (the count skips one's own messages), slower with each post.
POST_READ_MARK = """
    UPDATE participants SET last_read_message_id = %(message)s, last_read_at = %(at)s
    WHERE conversation_id = %(conversation)s AND user_id = %(me)s
"""


@dataclass(frozen=True)
class Walk:
    """How a list is ordered and continued: its sort columns and cursor direction."""

    direction: Direction
    at: str  # the timestamp column of the key
    row_id: str  # the id column of the key

    @property
    def ascending(self) -> bool:
        return self.direction is not Direction.OLDER

    def order_by(self) -> str:
        way = "ASC" if self.ascending else "DESC"
        return f"{self.at} {way}, {self.row_id} {way}"

    def after(self, key_sql: str) -> str:
        """Rows strictly beyond the key in walking order: a row comparison, which PostgreSQL
        turns into one range of an index ending in the same two columns."""
        return f"({self.at}, {self.row_id}) {'>' if self.ascending else '<'} {key_sql}"


NEWEST_FIRST = Walk(Direction.OLDER, "m.sent_at", "m.id")
OLDEST_FIRST = Walk(Direction.NEWER, "m.sent_at", "m.id")
BY_CHANGE = Walk(Direction.CHANGES, "m.changed_at", "m.id")
MESSAGE_WALKS = {walk.direction: walk for walk in (NEWEST_FIRST, OLDEST_FIRST, BY_CHANGE)}
LATEST_ACTIVITY_FIRST = Walk(Direction.OLDER, "c.last_activity_at", "c.id")


@dataclass(frozen=True)
class Page:
    """A page of JSON objects, as the text of a JSON array, and where the next page starts
    (None on the last page)."""

    results: str
    next: Cursor | None


@dataclass(frozen=True)
class PageQuery:
    """One statement answering a page: ``flags`` leading columns (checks the caller reads),
    then the page's JSON array, the row count and the key of the page's last row."""

    sql: str
    params: dict[str, Any]
    walk: Walk
    page_size: int
    flags: int = field(default=0)

    def read(self, row: tuple) -> tuple[list[Any], Page]:
        """The flags and the page from the statement's one row."""
        *flags, results, count, last_key = row
        # One row more than a page was asked for: another page follows, and nothing counted.
        more = count > self.page_size
        next_cursor = Cursor(self.walk.direction, Key.parse(last_key)) if more else None
        return flags, Page(results=results, next=next_cursor)


def page_query(
    *,
    select: str,
    source: str,
    where: list[str],
    walk: Walk,
    page_size: int,
    params: dict[str, Any],
    cursor: Cursor | None,
    prelude: tuple[str, ...] = (),
) -> PageQuery:
    conditions = list(where)
    if cursor is not None:
        conditions.append(walk.after("(%(cursor_at)s, %(cursor_id)s)"))
        params = {**params, "cursor_at": cursor.key.at, "cursor_id": cursor.key.id}
    sql = f"""
        WITH page AS (
            SELECT {select},
                   row_number() OVER (ORDER BY {walk.order_by()}) AS rn,
                   {_key(walk.at, walk.row_id)} AS page_key
            FROM {source}
            WHERE {" AND ".join(conditions)}
            ORDER BY {walk.order_by()}
            LIMIT %(limit)s
        )
        SELECT {"".join(f"{column}, " for column in prelude)}
               '[' || coalesce((SELECT string_agg(page.json::text, ',' ORDER BY page.rn)
                                FROM page WHERE page.rn <= %(page_size)s), '') || ']',
               (SELECT count(*) FROM page),
               (SELECT page.page_key FROM page WHERE page.rn = %(page_size)s)
    """
    params = {**params, "limit": page_size + 1, "page_size": page_size}
    return PageQuery(sql, params, walk, page_size, flags=len(prelude))


def message_page(
    *,
    conversation_id: uuid.UUID,
    user_id: uuid.UUID,
    page_size: int,
    cursor: Cursor | None = None,
    before: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
    since: datetime | None = None,
) -> PageQuery:
    """A conversation's messages (chat.selectors.message_page says which). Flags: the caller
    is a participant; with before/after, the anchor message is in the conversation."""
    params: dict[str, Any] = {"conversation": conversation_id, "me": user_id}
    where = ["m.conversation_id = %(conversation)s", ACCESS]
    prelude = [ACCESS]
    if cursor is not None:
        walk = MESSAGE_WALKS[cursor.direction]
    elif since is not None:
        walk = BY_CHANGE
        where.append("m.changed_at > %(since)s")
        params["since"] = since
    elif before is not None or after is not None:
        walk = NEWEST_FIRST if before is not None else OLDEST_FIRST
        params["anchor"] = before or after
        anchor = "FROM messages a WHERE a.id = %(anchor)s AND a.conversation_id = %(conversation)s"
        where.append(walk.after(f"(SELECT a.sent_at, a.id {anchor})"))
        prelude.append(f"EXISTS (SELECT 1 {anchor})")
    else:
        walk = NEWEST_FIRST
    if walk is not BY_CHANGE:
        where.append("m.deleted_at IS NULL")
    return page_query(
        select=f"{MESSAGE_JSON} AS json, m.sent_at, m.changed_at, m.id",
        source="messages m",
        where=where,
        walk=walk,
        page_size=page_size,
        params=params,
        cursor=cursor,
        prelude=tuple(prelude),
    )


def message_json(
    *, conversation_id: uuid.UUID, message_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[str, dict]:
    """One live message as JSON text; no row unless the caller may see it."""
    return (
        f"""SELECT {MESSAGE_JSON}::text FROM messages m
            WHERE m.id = %(message)s AND m.conversation_id = %(conversation)s
              AND m.deleted_at IS NULL AND {ACCESS}""",
        {"message": message_id, "conversation": conversation_id, "me": user_id},
    )


def thread_page(
    *,
    conversation_id: uuid.UUID,
    parent_id: uuid.UUID,
    user_id: uuid.UUID,
    page_size: int,
    cursor: Cursor | None = None,
) -> PageQuery:
    """A thread's live replies, oldest first. Flags: access, the parent's JSON (even deleted)."""
    parent = f"""(SELECT {MESSAGE_JSON}::text FROM messages m
                  WHERE m.id = %(parent)s AND m.conversation_id = %(conversation)s)"""
    return page_query(
        select=f"{MESSAGE_JSON} AS json, m.sent_at, m.id",
        source="messages m",
        where=[
            "m.parent_id = %(parent)s",
            "m.conversation_id = %(conversation)s",
            "m.deleted_at IS NULL",
            ACCESS,
        ],
        walk=OLDEST_FIRST,
        page_size=page_size,
        params={"conversation": conversation_id, "me": user_id, "parent": parent_id},
        cursor=cursor,
        prelude=(ACCESS, parent),
    )


def search_page(
    *,
    user_id: uuid.UUID,
    query: str,
    page_size: int,
    conversation_id: uuid.UUID | None = None,
    cursor: Cursor | None = None,
) -> PageQuery:
    """Live messages matching ``query`` in the caller's live conversations, newest first."""
    params: dict[str, Any] = {"me": user_id, "query": query}
    where = [
        # The configuration named literally, as in the generated column, so the GIN index
        # matches.
        f"m.search_vector @@ websearch_to_tsquery('{SEARCH_CONFIG}', %(query)s)",
        "m.deleted_at IS NULL",
        "c.deleted_at IS NULL",
    ]
    if conversation_id is not None:
        where.append("m.conversation_id = %(conversation)s")
        params["conversation"] = conversation_id
    return page_query(
        select=f"{MESSAGE_JSON} AS json, m.sent_at, m.id",
        source="""messages m
            JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = %(me)s
            JOIN conversations c ON c.id = m.conversation_id""",
        where=where,
        walk=NEWEST_FIRST,
        page_size=page_size,
        params=params,
        cursor=cursor,
    )


def conversation_page(
    *, user_id: uuid.UUID, page_size: int, cursor: Cursor | None = None
) -> PageQuery:
    """My live conversations, latest activity first. The walk starts from my participant
    rows (their user_id index), so it costs what I am in, not what the table holds."""
    return page_query(
        select=f"{CONVERSATION_JSON} AS json, c.last_activity_at, c.id",
        source=CONVERSATION_SOURCE,
        where=["p.user_id = %(me)s", "c.deleted_at IS NULL"],
        walk=LATEST_ACTIVITY_FIRST,
        page_size=page_size,
        params={"me": user_id},
        cursor=cursor,
    )


def conversation_json(*, conversation_id: uuid.UUID, user_id: uuid.UUID) -> tuple[str, dict]:
    return (
        f"""SELECT {CONVERSATION_JSON}::text FROM {CONVERSATION_SOURCE}
            WHERE p.conversation_id = %(conversation)s AND p.user_id = %(me)s
              AND c.deleted_at IS NULL""",
        {"conversation": conversation_id, "me": user_id},
    )


def message_representation(*, message_id: uuid.UUID, user_id: uuid.UUID | None) -> tuple[str, dict]:
    """One message as JSON text, as the API shows it to ``user_id``, whatever its state: an
    event's payload, read in the writing transaction."""
    return (
        f"SELECT {MESSAGE_JSON}::text FROM messages m WHERE m.id = %(message)s",
        {"message": message_id, "me": user_id},
    )


def conversation_representation(
    *, conversation_id: uuid.UUID, user_id: uuid.UUID | None
) -> tuple[str, dict]:
    """One conversation as JSON text, as ``user_id`` sees it; as its first owner does when
    ``user_id`` is not in it (staff restoring it). An event's payload."""
    return (
        f"""SELECT {CONVERSATION_JSON}::text FROM {CONVERSATION_SOURCE}
            WHERE p.conversation_id = %(conversation)s
            ORDER BY coalesce(p.user_id = %(me)s, false) DESC, p.role = 'owner' DESC,
                     p.joined_at, p.user_id
            LIMIT 1""",
        {"conversation": conversation_id, "me": user_id},
    )


# --- writes beyond posting (chat/services) ---------------------------------------------------

# A system message's time: the caller holds the conversation's row lock already, or this
# takes it before reading the clock.
TOUCH_ACTIVITY = """
    UPDATE conversations SET last_activity_at = clock_timestamp()
    WHERE id = %(conversation)s
    RETURNING last_activity_at
"""

# Marking read. My participant row first: the UPDATE below then starts after any concurrent
# post or mark-read of mine has committed, and its snapshot compares against the mark that one
# left. (Left to the UPDATE's own row lock, the recheck after the wait would look the new
# mark's message up in the old snapshot, miss it, and move the mark back.)
LOCK_MY_PARTICIPANT = """
    SELECT 1 FROM participants WHERE conversation_id = %(conversation)s AND user_id = %(me)s
    FOR NO KEY UPDATE
"""
# The mark only moves forward: nothing changes when it is already at or past the message.
MARK_READ = """
    UPDATE participants p SET last_read_message_id = m.id, last_read_at = now()
    FROM messages m, conversations c
    WHERE p.conversation_id = %(conversation)s AND p.user_id = %(me)s
      AND c.id = p.conversation_id AND c.deleted_at IS NULL
      AND m.id = %(message)s AND m.conversation_id = p.conversation_id
      AND NOT EXISTS (
          SELECT 1 FROM messages r
          WHERE r.id = p.last_read_message_id AND (r.sent_at, r.id) >= (m.sent_at, m.id)
      )
"""

# One reaction; the unique constraint decides races, and a repeat returns no row.
ADD_REACTION = """
    INSERT INTO message_reactions (id, message_id, user_id, emoji, created_at)
    VALUES (gen_random_uuid(), %(message)s, %(me)s, %(emoji)s, clock_timestamp())
    ON CONFLICT DO NOTHING
    RETURNING id, message_id, user_id, emoji, created_at
"""
