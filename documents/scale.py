"""A large documents data set, loaded fast: ``manage.py seed_documents_scale`` (100,000
documents averaging 20 versions, so about 2 million version rows, by default).

How it is fast: the texts are drawn from a pool of paragraphs and words sent once with
``COPY``; PostgreSQL then generates every document and version row itself
(``INSERT ... SELECT`` over ``generate_series``, in batches), so no row crosses the wire. The
loading session runs with ``synchronous_commit`` off, the secondary indexes and foreign keys of
documents and their versions are dropped for the load and built again after it
(``core.scale.indexes_deferred``), and ``VACUUM ANALYZE`` ends the load so the planner knows
the new sizes. Rows are numbered and every choice (owner, number of versions,
paragraphs) is arithmetic on that number, so a load is the same each time.

The data: ``owners`` users ``docs-scale-<n>@scale.invalid`` (no usable password) with profiles;
documents spread over the past year, each with 1 to ``2 * versions - 1`` versions whose content
is three paragraphs, two of which change with each version; about one share per document to
another scale user, a tenth of them expired. When ``for_user`` is given, that user owns
``owned`` of the documents and holds ``shared`` live and ``shared // 2`` expired shares of
others' documents: the person a benchmark signs in as.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from core.scale import indexes_deferred, pending_refusal

EMAIL_PATTERN = "docs-scale-%@scale.invalid"
PARAGRAPHS = 5_000
BATCH = 10_000

_COMMON_TEXT = """
launch roadmap invoice customer design review deploy release meeting budget sprint ticket
backlog pricing feedback onboarding dashboard report migration database server schedule
deadline contract renewal support refund incident postmortem metrics latency throughput cache
index query search draft proposal hiring interview office plan goal risk issue quarter revenue
forecast marketing sales partner vendor security compliance audit policy handbook checklist
agenda minutes decision owner action status summary appendix
"""
COMMON_WORDS = _COMMON_TEXT.split()
# Rarer words make searches that match a few documents, as real vocabularies do: three of
# these syllables each.
_SYLLABLE_TEXT = "ka lo mi ne ru sa ti vo ze ba de fi go hu ja"
SYLLABLES = _SYLLABLE_TEXT.split()


@dataclass(frozen=True)
class ScaleResult:
    users: int
    documents: int
    versions: int
    shares: int
    seconds: float


def _vocabulary(rng: random.Random) -> list[str]:
    rare = sorted({"".join(rng.choices(SYLLABLES, k=3)) for _ in range(3_000)})
    return COMMON_WORDS + rare


def _paragraph(rng: random.Random, words: list[str]) -> str:
    # Common words about half the time, so frequencies fall off like a natural text's.
    common = len(COMMON_WORDS)
    chosen = [
        words[rng.randrange(common)] if rng.random() < 0.5 else rng.choice(words)
        for _ in range(rng.randint(20, 40))
    ]
    return " ".join(chosen).capitalize() + "."


def _copy_pools(cursor) -> None:
    rng = random.Random(20261126)  # noqa: S311 (demo data, not secrets)
    words = _vocabulary(rng)
    cursor.execute(
        "CREATE TEMPORARY TABLE scale_paragraphs (i integer PRIMARY KEY, body text NOT NULL);"
        "CREATE TEMPORARY TABLE scale_words (i integer PRIMARY KEY, word text NOT NULL)"
    )
    with cursor.copy("COPY scale_paragraphs (i, body) FROM STDIN") as copy:
        for i in range(PARAGRAPHS):
            copy.write_row((i, _paragraph(rng, words)))
    with cursor.copy("COPY scale_words (i, word) FROM STDIN") as copy:
        for i, word in enumerate(words):
            copy.write_row((i, word))
    cursor.execute("ANALYZE scale_paragraphs; ANALYZE scale_words")


def _users(cursor, owners: int) -> None:
    cursor.execute(
        "INSERT INTO users (email, password_hash, verified)"
        " SELECT replace(%s, '%%', n::text), '!', true FROM generate_series(1, %s) n"
        " ON CONFLICT DO NOTHING",
        [EMAIL_PATTERN, owners],
    )
    cursor.execute(
        "INSERT INTO user_profiles (user_id, display_name)"
        " SELECT id, 'Scale ' || split_part(email, '@', 1) FROM users WHERE email LIKE %s"
        " ON CONFLICT DO NOTHING",
        [EMAIL_PATTERN],
    )
    cursor.execute(
        "CREATE TEMPORARY TABLE scale_owners AS"
        " SELECT row_number() OVER (ORDER BY email) - 1 AS i, id FROM users WHERE email LIKE %s",
        [EMAIL_PATTERN],
    )
    cursor.execute("ALTER TABLE scale_owners ADD PRIMARY KEY (i); ANALYZE scale_owners")


# One row per document of the batch: its number n, its key, owner, version count and the
# offset (h) its paragraphs are drawn from. The bench user, if any, owns the first documents.
_BATCH_SQL = f"""
CREATE TEMPORARY TABLE scale_batch ON COMMIT DROP AS
SELECT n, gen_random_uuid() AS id,
       CASE WHEN n <= %(owned)s AND %(for_user)s::uuid IS NOT NULL THEN %(for_user)s::uuid
            ELSE o.id END AS owner_id,
       1 + (n * 104729) %% (2 * %(versions)s - 1) AS versions,
       (n * 7919) %% {PARAGRAPHS} AS h,
       now() - interval '365 days' + (n::float8 / %(documents)s) * interval '350 days'
         AS created_at
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) n
JOIN scale_owners o ON o.i = (n * 31) %% %(owners)s
"""  # noqa: S608 (built from module constants; no input reaches it)

# Version v's content: one paragraph the document keeps and two that each version changes.
# The title is three words. Both are built from the batch row b and the number v.
_TEXT_SELECT = """
       initcap(w1.word || ' ' || w2.word || ' ' || w3.word) AS title,
       p1.body || E'\\n\\n' || p2.body || E'\\n\\n' || p3.body AS content
"""
_TEXT_JOINS = f"""
JOIN scale_paragraphs p1 ON p1.i = b.h
JOIN scale_paragraphs p2 ON p2.i = (b.h + v * 7) % {PARAGRAPHS}
JOIN scale_paragraphs p3 ON p3.i = (b.h + v * 13 + 1) % {PARAGRAPHS}
JOIN scale_words w1 ON w1.i = b.h % (SELECT count(*) FROM scale_words)
JOIN scale_words w2 ON w2.i = (b.n * 17) % (SELECT count(*) FROM scale_words)
JOIN scale_words w3 ON w3.i = (b.n * 29 + 3) % (SELECT count(*) FROM scale_words)
"""  # noqa: S608 (module constants only)
# Every version of every document of the batch, its text included; the documents take the
# title and content of their last one.
_BATCH_VERSIONS_SQL = (
    "CREATE TEMPORARY TABLE scale_batch_versions ON COMMIT DROP AS"  # noqa: S608 (constants)
    " SELECT b.id, b.owner_id, b.versions, b.created_at, v,"
    + _TEXT_SELECT
    + " FROM scale_batch b CROSS JOIN LATERAL generate_series(1, b.versions) AS v"
    + _TEXT_JOINS
)
_DOCUMENTS_SQL = """
INSERT INTO documents (id, owner_id, title, content, version, created_at, updated_at)
SELECT id, owner_id, title, content, v, created_at, created_at + v * interval '3 hours'
FROM scale_batch_versions WHERE v = versions
"""
_VERSIONS_SQL = """
INSERT INTO document_versions (document_id, version, title, content, created_at, created_by)
SELECT id, v, title, content, created_at + v * interval '3 hours', owner_id
FROM scale_batch_versions
"""

# About one share per document with another scale user; every tenth has expired.
_SHARES_SQL = """
INSERT INTO document_shares (document_id, user_id, permission_level, expires_at)
SELECT b.id, o.id, (ARRAY['viewer', 'commenter', 'editor', 'owner'])[1 + b.n %% 4],
       CASE WHEN b.n %% 10 = 0 THEN now() - interval '1 day' END
FROM scale_batch b
JOIN scale_owners o ON o.i = (b.n * 37 + 1) %% %(owners)s
WHERE o.id <> b.owner_id
ON CONFLICT DO NOTHING
"""


def _bench_user_shares(cursor, *, for_user, owned: int, shared: int) -> int:
    """Live shares for ``for_user`` of ``shared`` documents it does not own, and half as many
    expired ones, taken evenly across the data set."""
    cursor.execute(
        """
        INSERT INTO document_shares (document_id, user_id, permission_level, expires_at)
        SELECT id, %(user)s, CASE WHEN k %% 3 = 0 THEN 'editor' ELSE 'viewer' END,
               CASE WHEN k > %(shared)s THEN now() - interval '1 hour'
                    WHEN k %% 5 = 0 THEN now() + interval '300 days' END
        FROM (SELECT id, row_number() OVER (ORDER BY created_at) AS k
              FROM documents WHERE owner_id <> %(user)s
              ORDER BY created_at LIMIT %(total)s) d
        ON CONFLICT (document_id, user_id) DO NOTHING
        """,
        {"user": for_user, "shared": shared, "total": shared + shared // 2},
    )
    return cursor.rowcount


def refusal() -> str | None:
    """Why ``documents_scale_load`` would refuse to start now, or None; a dry run asks the
    same question."""
    if reason := pending_refusal():
        return reason
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM documents)")
        if cursor.fetchone()[0]:
            return "The documents table is not empty; load into a fresh database."
    return None


def documents_scale_load(
    *,
    documents: int = 100_000,
    versions: int = 20,
    owners: int = 1_000,
    for_user=None,
    owned: int = 2_000,
    shared: int = 200,
    progress: Callable[[str], None] = print,
) -> ScaleResult:
    """Loads the data set into the database Django is connected to. Refuses to load into a
    database that already holds documents, so running it twice never doubles the data.

    The service-level code of ``seed_documents_scale``: it owns its transactions, one per
    batch (durable, so nobody wraps the whole load into one huge transaction), and the
    command only passes its options."""
    started = time.monotonic()
    totals = {"documents": 0, "versions": 0, "shares": 0}
    if reason := refusal():
        raise ValueError(reason)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        with transaction.atomic(durable=True):
            _users(cursor, owners)
            _copy_pools(cursor)
        with indexes_deferred(["documents", "document_versions"], progress):
            for start in range(1, documents + 1, BATCH):
                stop = min(start + BATCH - 1, documents)
                with transaction.atomic(durable=True):
                    cursor.execute(
                        _BATCH_SQL,
                        {
                            "start": start,
                            "stop": stop,
                            "owned": owned,
                            "for_user": for_user,
                            "versions": versions,
                            "documents": documents,
                            "owners": owners,
                        },
                    )
                    cursor.execute(_BATCH_VERSIONS_SQL)
                    cursor.execute(_DOCUMENTS_SQL)
                    totals["documents"] += cursor.rowcount
                    cursor.execute(_VERSIONS_SQL)
                    totals["versions"] += cursor.rowcount
                    cursor.execute(_SHARES_SQL, {"owners": owners})
                    totals["shares"] += cursor.rowcount
                progress(
                    f"  documents {stop:,}/{documents:,}, versions {totals['versions']:,}"
                    f" ({time.monotonic() - started:.0f}s)"
                )
        if for_user is not None:
            with transaction.atomic(durable=True):
                totals["shares"] += _bench_user_shares(
                    cursor, for_user=for_user, owned=owned, shared=shared
                )
        progress("  VACUUM ANALYZE ...")
        cursor.execute("VACUUM ANALYZE documents, document_versions, document_shares, users")
        cursor.execute("SET synchronous_commit = on")
    return ScaleResult(
        users=owners,
        documents=totals["documents"],
        versions=totals["versions"],
        shares=totals["shares"],
        seconds=time.monotonic() - started,
    )
