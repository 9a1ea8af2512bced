"""The hand-written SQL of documents' hot paths, as text, free of Django.

documents/selectors.py and documents/services.py run these statements through Django's
connection; bench/floor_documents.py runs the very same ones through a bare psycopg pool, so
the benchmark's floor measures Atrium's SQL and nothing else.

The first pages of the document list and of the search are the exception: documents.selectors
builds them with the ORM (filters, orderings and the page cursor vary them), and their text
here is what the ORM compiles for the plain first page, so the floor sends that same statement.
tests/documents/test_sql.py holds the two equal.

Values are always bound parameters. The variants of the access check are written out from
this module's own fragments when it is imported; nothing is formatted at run time.
"""

# The access check runs on every object endpoint, so it is one fixed statement: building the
# equivalent ORM query (a CASE over a correlated subquery, and an EXISTS) cost more time per
# request than running it (README.md, Documents). The share condition is
# documents.selectors.live_shares()'s; the unique (document_id, user_id) key makes the join
# yield at most one row. Its columns are the document's (as the ORM's raw() maps them by name)
# and the caller's level. Parameters: %(user)s, %(document)s.
_ACCESS = """
SELECT d.id, d.created_at, d.updated_at, d.deleted_at, d.owner_id, d.title, d.content,
       d.version,
       CASE WHEN d.owner_id = %(user)s THEN 'owner' ELSE s.permission_level END AS access_level
FROM documents d
LEFT JOIN document_shares s
  ON s.document_id = d.id AND s.user_id = %(user)s
 AND (s.expires_at IS NULL OR s.expires_at > STATEMENT_TIMESTAMP())
WHERE d.id = %(document)s
  AND (d.owner_id = %(user)s OR s.id IS NOT NULL)
"""
_LIVE = "  AND d.deleted_at IS NULL\n"
_TRASHED = "  AND d.deleted_at IS NOT NULL\n"
# The document's row only: the share is on the nullable side of the outer join, which
# PostgreSQL cannot lock, and the document's lock is what every write of it takes.
_LOCK = "FOR UPDATE OF d\n"

# A live document and the caller's level on it.
ACCESS = _ACCESS + _LIVE
# The same, holding the document's row until commit, for a write that depends on the answer.
ACCESS_FOR_UPDATE = ACCESS + _LOCK
# A document in the trash and the caller's level on it, for a read or for restoring it.
TRASHED_ACCESS = _ACCESS + _TRASHED
TRASHED_ACCESS_FOR_UPDATE = TRASHED_ACCESS + _LOCK

# The next version of a document: the version condition repeats what the row lock already
# guarantees, so the write can never skip or reuse a number even if a caller forgot the lock.
# Parameters: title, content, document id, the version read. Returns the new version and the
# updated_at the database trigger set; no row when the document is not at that version.
WRITE_NEXT_VERSION = (
    "UPDATE documents SET title = %s, content = %s, version = version + 1"
    " WHERE id = %s AND version = %s RETURNING version, updated_at"
)

# A version row; the database supplies its id and created_at.
# Parameters: document id, version, title, content, note, author's user id.
INSERT_VERSION = (
    "INSERT INTO document_versions (document_id, version, title, content, note, created_by)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


# --- the first pages the ORM compiles (see above) ---------------------------------------------
# Literals the ORM binds as parameters ('owner', 'english') are written in: both send the
# same text to the server.

_LIVE_SHARE = '(U0."expires_at" IS NULL OR U0."expires_at" > (STATEMENT_TIMESTAMP()))'
_LEVEL = (
    'CASE WHEN "documents"."owner_id" = %s THEN \'owner\' ELSE (SELECT U0."permission_level" AS '
    '"permission_level" FROM "document_shares" U0 WHERE ('
    + _LIVE_SHARE
    + ' AND U0."document_id" = '
    '("documents"."id") AND U0."user_id" = %s) LIMIT 1) END'
)
_SUMMARY_COLUMNS = (
    '"documents"."id", "documents"."created_at", "documents"."updated_at", '
    '"documents"."deleted_at", "documents"."owner_id", "documents"."title", '
)
_READABLE = (
    '"documents"."id" IN ((SELECT U0."id" AS "id" FROM "documents" U0 WHERE U0."owner_id" = %s) '
    'UNION ALL (SELECT U0."document_id" AS "document_id" FROM "document_shares" U0 WHERE '
    "(" + _LIVE_SHARE + ' AND U0."user_id" = %s)))'
)
# "Mine and shared with me", newest change first. Parameters: the user four times, the limit.
DOCUMENT_LIST_PAGE = (
    "SELECT "
    + _SUMMARY_COLUMNS
    + '"documents"."version", '
    + _LEVEL
    + ' AS "access_level" FROM "documents" WHERE ("documents"."deleted_at" IS NULL AND '
    + _READABLE
    + ') ORDER BY "documents"."updated_at" DESC, "documents"."id" DESC LIMIT %s'
)
_QUERY = "websearch_to_tsquery('english'::regconfig, %s)"
# Ranked matches, best first (the rank is column 8). Parameters: the search terms, the user four
# times, the search terms again, the limit.
DOCUMENT_SEARCH_PAGE = (
    "SELECT "
    + _SUMMARY_COLUMNS
    + '"documents"."version", (ts_rank("documents"."search_vector", '
    + _QUERY
    + '))::double precision AS "rank", '
    + _LEVEL
    + ' AS "access_level" FROM "documents" WHERE ("documents"."deleted_at" IS NULL AND '
    + _READABLE
    + ' AND "documents"."search_vector" @@ ('
    + _QUERY
    + ')) ORDER BY 8 DESC, "documents"."id" DESC LIMIT %s'
)
