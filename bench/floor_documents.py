"""The floor for the documents endpoints: a bare WSGI function that does what Atrium must do for
each request and nothing more. It authenticates like bench/floor_me.py (the same credential
lookup, which brings the user's permission names), sends the statements documents.selectors
and documents.services send, imported from documents/sql.py, and answers with the same JSON.

- ``GET /api/v1/documents/<id>``: the access query writing the document's JSON, its ETag.
- ``GET /api/v1/documents``: the first page of "mine and shared with me", newest change first.
- ``GET /api/v1/documents/search?q=``: the first page of ranked matches.
- ``PATCH /api/v1/documents/<id>`` with ``If-Match`` and ``{"content": ...}``: in one
  transaction, the access query with the row lock, the version check, the conditional UPDATE,
  the version row and the outbox event.

Run: DATABASE_URL=postgres://... gunicorn bench.floor_documents:application -w 3
(bench/bench_documents.py starts it.)
"""

import base64
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib import parse

from bench.floor_me import StartResponse, _timestamp, caller_of, pool, request_id

# core/sql.py and documents/sql.py are plain Python; importing them runs no Django.
from core import sql as core_sql
from documents import sql

PAGE_SIZE = 50
_DOCUMENT_PATH = re.compile(r"^/api/v1/documents/([0-9a-fA-F-]{36})$")
_ENTITY_TAG = re.compile(r'"(\d{1,9})"', re.ASCII)
VIEW, CHANGE = "documents.view_document", "documents.change_document"


def _summary(row: tuple) -> dict[str, Any]:
    """DocumentSummaryOutput from the access columns (id ... title, version, level)."""
    doc_id, created_at, updated_at, _deleted_at, owner_id, title, version, level = row
    return {
        "id": str(doc_id),
        "title": title,
        "version": version,
        "owner_id": str(owner_id),
        "created_at": _timestamp(created_at),
        "updated_at": _timestamp(updated_at),
        "access": level,
    }


def _document(row: tuple) -> dict[str, Any]:
    """DocumentOutput from the access columns (id ... title, content, version, level)."""
    doc_id, created_at, updated_at, deleted_at, owner_id, title, content, version, level = row
    body = _summary((doc_id, created_at, updated_at, deleted_at, owner_id, title, version, level))
    body["content"] = content
    return body


def _next_link(environ: dict[str, Any], ordering_values: list) -> str:
    """The ``next`` URL core.api.pagination.CursorPagination writes after ``last``."""
    position = json.dumps([str(value) for value in ordering_values])
    cursor = base64.b64encode(parse.urlencode({"p": position}).encode()).decode()
    query = parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    query["cursor"] = [cursor]
    host = environ.get("HTTP_HOST") or environ["SERVER_NAME"]
    return parse.urlunsplit(
        ("http", host, environ["PATH_INFO"], parse.urlencode(sorted(query.items()), doseq=True), "")
    )


def _page(environ, row: tuple) -> bytes:
    """The body of a page whose JSON PostgreSQL wrote (documents/sql.py's ``*_JSON_PAGE``)."""
    results, found, *ends = row
    following = None
    if found > PAGE_SIZE:
        # The last row's ordering values, as Django renders them (timestamps in UTC).
        last = ends[len(ends) // 2 :]
        following = _next_link(
            environ, [v.astimezone(UTC) if isinstance(v, datetime) else v for v in last]
        )
    return f'{{"next":{json.dumps(following)},"previous":null,"results":{results}}}'.encode()


def _respond_json(start_response, data: bytes) -> list[bytes]:
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def _respond(start_response, status: str, body: Any, headers=()) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


def _update(connection, user_id, doc_id: str, environ) -> tuple[str, Any, list]:
    match = _ENTITY_TAG.fullmatch(environ.get("HTTP_IF_MATCH", "").strip())
    length = int(environ.get("CONTENT_LENGTH") or 0)
    content = json.loads(environ["wsgi.input"].read(length))["content"]
    with connection.transaction():
        row = connection.execute(
            sql.ACCESS_FOR_UPDATE, {"user": user_id, "document": doc_id}
        ).fetchone()
        if row is None:
            return "404 Not Found", {"status": 404}, []
        if row[-1] not in ("editor", "owner"):
            return "403 Forbidden", {"status": 403}, []
        current = row[7]
        if match is None or int(match.group(1)) != current:
            return "412 Precondition Failed", {"current_version": current}, []
        title = row[5]
        if content == row[6]:
            return "200 OK", _document(row), [("ETag", f'"{current}"')]
        version, updated_at = connection.execute(
            sql.WRITE_NEXT_VERSION, (title, content, doc_id, current)
        ).fetchone()
        connection.execute(sql.INSERT_VERSION, (doc_id, version, title, content, "", user_id))
        body = _document((*row[:2], updated_at, *row[3:6], content, version, row[-1]))
        # documents.services._announce: the outbox row of document.updated.
        connection.execute(
            core_sql.INSERT_EVENT,
            core_sql.event_params(
                type="document.updated",
                object_type="documents.document",
                object_id=str(row[0]),
                # The document as the API answers it (core.events: the payload is the object).
                payload=body,
                actor_id=str(user_id),
                audience_kind="document",
                audience_key=str(row[0]),
                request_id=request_id(environ),
            ),
        ).fetchone()
    return "200 OK", body, [("ETag", f'"{version}"')]


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
    caller = caller_of(environ.get("HTTP_AUTHORIZATION", ""))
    if caller is None:
        return _respond(start_response, "401 Unauthorized", {"status": 401})
    user_id, permissions = caller.user_id, caller.permission_names
    with pool.connection() as connection:
        document = _DOCUMENT_PATH.match(path)
        if method == "GET" and path == "/api/v1/documents" and VIEW in permissions:
            row = connection.execute(
                sql.DOCUMENT_LIST_JSON_PAGE,
                (user_id, user_id, user_id, user_id, PAGE_SIZE + 1, PAGE_SIZE),
            ).fetchone()
            return _respond_json(start_response, _page(environ, row))
        if method == "GET" and path == "/api/v1/documents/search" and VIEW in permissions:
            query = parse.parse_qs(environ.get("QUERY_STRING", "")).get("q", [""])[0]
            row = connection.execute(
                sql.DOCUMENT_SEARCH_JSON_PAGE,
                (query, user_id, user_id, user_id, user_id, query, PAGE_SIZE + 1, PAGE_SIZE),
            ).fetchone()
            return _respond_json(start_response, _page(environ, row))
        if document and method == "GET" and VIEW in permissions:
            doc_id = document.group(1)
            row = connection.execute(
                sql.DOCUMENT_JSON, {"user": user_id, "document": doc_id}
            ).fetchone()
            if row is None:
                return _respond(start_response, "404 Not Found", {"status": 404})
            data = row[0].encode()
            start_response(
                "200 OK",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(data))),
                    ("ETag", f'"{row[1]}"'),
                ],
            )
            return [data]
        if document and method == "PATCH" and CHANGE in permissions:
            status, body, headers = _update(connection, user_id, document.group(1), environ)
            return _respond(start_response, status, body, headers)
    return _respond(start_response, "404 Not Found", {"status": 404})
