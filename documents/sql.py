"""The hand-written SQL of documents' hot paths, as text, free of Django.

documents/selectors.py and documents/services.py run these statements through Django's
connection; bench/floor_documents.py runs the very same ones through a bare psycopg pool, so
the benchmark's floor measures Atrium's SQL and nothing else.

The first pages of the document list and of the search are the exception: documents.selectors
builds them with the ORM (filters, orderings and the page cursor vary them), and their text
here is what the ORM compiles for the plain first page, so the floor sends that same statement.
tests/documents/test_sql.py holds the two equal.

The pages of both are answered as JSON PostgreSQL builds (core.sql.json_page around the
ORM's statement, rows written by ``DOCUMENT_SUMMARY`` and ``SEARCH_RESULT``), as chat's pages
are: model instances and serializer fields per row were most of what a page cost.

Values are always bound parameters. The variants of the access check are written out from
this module's own fragments when it is imported; nothing is formatted at run time.
"""

from core.sql import RowJSON, iso_timestamp, json_page

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
# The columns of a summary, named as the ORM's values() names them (core.sql.json_page).
_SUMMARY = (
    '"documents"."id" AS "id", "documents"."title" AS "title", '
    '"documents"."version" AS "version", "documents"."owner_id" AS "owner_id", '
    '"documents"."created_at" AS "created_at", "documents"."updated_at" AS "updated_at", '
)
_READABLE = (
    '"documents"."id" IN ((SELECT U0."id" AS "id" FROM "documents" U0 WHERE U0."owner_id" = %s) '
    'UNION ALL (SELECT U0."document_id" AS "document_id" FROM "document_shares" U0 WHERE '
    "(" + _LIVE_SHARE + ' AND U0."user_id" = %s)))'
)
# "Mine and shared with me", newest change first. Parameters: the user four times, the limit.
DOCUMENT_LIST_PAGE = (
    "SELECT "
    + _SUMMARY
    + _LEVEL
    + ' AS "access_level" FROM "documents" WHERE ("documents"."deleted_at" IS NULL AND '
    + _READABLE
    + ") ORDER BY 6 DESC, 1 DESC LIMIT %s"
)
_QUERY = "websearch_to_tsquery('english'::regconfig, %s)"
# Ranked matches, best first (the rank is column 7). Parameters: the search terms, the user four
# times, the search terms again, the limit.
DOCUMENT_SEARCH_PAGE = (
    "SELECT "
    + _SUMMARY
    + '(ts_rank("documents"."search_vector", '
    + _QUERY
    + '))::double precision AS "rank", '
    + _LEVEL
    + ' AS "access_level" FROM "documents" WHERE ("documents"."deleted_at" IS NULL AND '
    + _READABLE
    + ' AND "documents"."search_vector" @@ ('
    + _QUERY
    + ")) ORDER BY 7 DESC, 1 DESC LIMIT %s"
)


# --- the pages as JSON (core.sql.json_page) ---------------------------------------------------
# A document of the list as documents.api.serializers.DocumentSummaryOutput writes it.
_SUMMARY_JSON = f"""r.id, r.title, r.version, r.owner_id,
    {iso_timestamp("r.created_at")} AS created_at, {iso_timestamp("r.updated_at")} AS updated_at,
    r.access_level AS access"""
_SUMMARY_NAMES = ("id", "title", "version", "owner_id", "created_at", "updated_at")
DOCUMENT_SUMMARY = RowJSON((*_SUMMARY_NAMES, "access_level"), _SUMMARY_JSON)
# A search result (SearchResultOutput): the summary and its rank.
SEARCH_RESULT = RowJSON((*_SUMMARY_NAMES, "rank", "access_level"), f"{_SUMMARY_JSON}, r.rank")

# A live document as DocumentOutput writes it (JSON text) and its version (the ETag), when the
# caller may read it: ACCESS's rows, written by PostgreSQL. Parameters: %(user)s, %(document)s.
DOCUMENT_JSON = (
    f"SELECT (SELECT row_to_json(j) FROM (SELECT {_SUMMARY_JSON}, r.content) j)::text,"
    f" r.version FROM ({ACCESS}) r"
)

# The first pages the API sends, as the floor sends them. Parameters: DOCUMENT_LIST_PAGE's or
# DOCUMENT_SEARCH_PAGE's, then the page size.
DOCUMENT_LIST_JSON_PAGE = json_page(
    DOCUMENT_LIST_PAGE, DOCUMENT_SUMMARY, ("-updated_at", "-id"), False
)
DOCUMENT_SEARCH_JSON_PAGE = json_page(DOCUMENT_SEARCH_PAGE, SEARCH_RESULT, ("-rank", "-id"), False)
