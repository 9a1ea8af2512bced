"""The floor for the chat endpoints: a bare WSGI function that does what Atrium must do for each
request and nothing more. It authenticates the bearer token with the very lookup Atrium runs
(bench/floor_me.py), which brings the caller's permission names too, then runs chat/sql.py's
statements (the ones Atrium's selectors and services run) through a psycopg connection, and
answers with the same JSON bytes.

Routes (what bench/bench_chat.py loads):
  GET  /api/v1/conversations/<id>/messages[?cursor=...&page_size=...]   (a) and (b)
  POST /api/v1/conversations/<id>/messages  {"content": "..."}           (c)
       (the message, the read mark and the outbox event, in one transaction)
  GET  /api/v1/conversations[?cursor=...&page_size=...]                  (d)

Run: DATABASE_URL=postgres://... gunicorn bench.floor_chat:application -w 3
"""

import json
import re
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

# chat/sql.py, chat/cursors.py and core/sql.py are plain Python; importing them runs no Django.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.floor_me import StartResponse, caller_of, pool, request_id
from chat import sql
from chat.cursors import Cursor, Direction
from core import sql as core_sql

MESSAGES = re.compile(r"^/api/v1/conversations/([0-9a-fA-F-]{36})/messages$")
CONVERSATIONS = "/api/v1/conversations"
PAGE_SIZE, MAX_PAGE_SIZE = 50, 200


def _answer(start_response: StartResponse, status: str, body: str) -> Iterable[bytes]:
    data = body.encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def _page_body(environ: dict[str, Any], page: sql.Page) -> str:
    """chat.api.views.page_response: this URL with the next cursor in place (DRF's
    replace_query_param sorts the parameters)."""
    next_url = None
    if page.next is not None:
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        for name in ("before", "after", "since"):
            query.pop(name, None)
        query["cursor"] = page.next.encode()
        next_url = f"http://{environ['HTTP_HOST']}{environ['PATH_INFO']}?{urlencode(sorted(query.items()))}"
    return f'{{"next":{json.dumps(next_url)},"results":{page.results}}}'


def _page_params(environ: dict[str, Any]) -> tuple[int, Cursor | None]:
    query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    page_size = min(MAX_PAGE_SIZE, max(1, int(query.get("page_size", PAGE_SIZE))))
    token = query.get("cursor")
    return page_size, None if token is None else Cursor.decode(token, allowed=frozenset(Direction))


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    user = caller_of(environ.get("HTTP_AUTHORIZATION", ""))
    if user is None:
        return _answer(start_response, "401 Unauthorized", '{"status":401}')
    user_id, permissions = user.user_id, user.permission_names
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    match = MESSAGES.match(path)
    with pool.connection() as db:
        if match and method == "GET" and "chat.view_message" in permissions:
            page_size, cursor = _page_params(environ)
            query = sql.message_page(
                conversation_id=uuid.UUID(match[1]),
                user_id=user_id,
                page_size=page_size,
                cursor=cursor,
            )
            (allowed,), page = query.read(db.execute(query.sql, query.params).fetchone())
            if not allowed:
                return _answer(start_response, "404 Not Found", '{"status":404}')
            return _answer(start_response, "200 OK", _page_body(environ, page))
        if match and method == "POST" and "chat.add_message" in permissions:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            content = json.loads(environ["wsgi.input"].read(length))["content"]
            conversation_id = uuid.UUID(match[1])
            me = {"conversation": conversation_id, "me": user_id}
            with db.transaction():
                row = db.execute(sql.POST_ACTIVITY, me).fetchone()
                if row is None:
                    return _answer(start_response, "404 Not Found", '{"status":404}')
                message_id = uuid.uuid4()
                # chat.services.messages.message_post's statements, with what it binds for a
                # text message.
                post = {**me, "message": message_id, "at": row[0]}
                (represented,) = db.execute(
                    sql.INSERT_MESSAGE,
                    {
                        **post,
                        "content": content,
                        "message_type": "text",
                        "metadata": "{}",
                        "parent": None,
                    },
                ).fetchone()
                db.execute(sql.POST_READ_MARK, post)
                # chat.services._shared.announce_message: the outbox row of message.created.
                db.execute(
                    core_sql.INSERT_EVENT,
                    core_sql.event_params(
                        type="message.created",
                        object_type="chat.message",
                        object_id=str(message_id),
                        # The message as the API shows it, which the INSERT returned.
                        payload=json.loads(represented),
                        actor_id=str(user_id),
                        audience_kind="conversation",
                        audience_key=str(conversation_id),
                        request_id=request_id(environ),
                    ),
                ).fetchone()
            statement, params = sql.message_json(
                conversation_id=conversation_id, message_id=message_id, user_id=user_id
            )
            body = db.execute(statement, params).fetchone()[0]
            return _answer(start_response, "201 Created", body)
        if path == CONVERSATIONS and method == "GET" and "chat.view_conversation" in permissions:
            page_size, cursor = _page_params(environ)
            query = sql.conversation_page(user_id=user_id, page_size=page_size, cursor=cursor)
            _, page = query.read(db.execute(query.sql, query.params).fetchone())
            return _answer(start_response, "200 OK", _page_body(environ, page))
    return _answer(start_response, "404 Not Found", '{"status":404}')
