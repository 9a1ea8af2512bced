"""Request parsing for the API."""

import io
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, parsers

from .problems import RequestTooLarge


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, bounded by ``DATA_UPLOAD_MAX_MEMORY_SIZE``.

    DRF hands the parser the raw request stream, which bypasses the cap Django applies to
    ``request.body``; without this a client could make a worker buffer any amount of JSON.
    A document nested deeper than the interpreter's recursion limit is a 400, not a 500.

    PostgreSQL stores no NUL character in text or jsonb and no lone UTF-16 surrogate at all,
    yet JSON can spell both as escapes. Such a string anywhere in the document (a value or a
    key) is a 400 naming its field, before any serializer or the database sees it.
    """

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise RequestTooLarge()
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc
        refuse_unstorable_strings(body, data)
        return data


def refuse_unstorable_strings(body: bytes, data: Any) -> None:
    """Raises a 400 naming the first string of ``data`` (decoded from the JSON ``body``) that
    PostgreSQL could not store. For views that parse their own body, as webhooks must."""
    # Both can only arrive as escapes, so the usual body is cleared by one scan of bytes.
    if _SUSPECT_ESCAPE.search(body):
        path = _unstorable_string_path(data)
        if path is not None:
            raise exceptions.ValidationError(_nested(path, _UNSTORABLE_MESSAGE))


_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_MESSAGE = "Null characters and unpaired surrogates are not allowed."


def _unstorable_string_path(value: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The path of the first string (a value or a key) PostgreSQL could not store."""
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _UNSTORABLE.search(key):
                return (*path, key.encode("unicode_escape").decode("ascii"))
            found = _unstorable_string_path(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable_string_path(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def _nested(path: tuple[str, ...], message: str) -> Any:
    # The problem handler names a nested field by joining the keys with dots.
    detail: Any = [message]
    for name in reversed(path):
        detail = {name: detail}
    return detail if path else {"non_field_errors": detail}


def unstorable_parameter(
    query: Mapping[str, Any], path: Mapping[str, Any]
) -> exceptions.ValidationError | None:
    """A 400 naming the first query or path parameter PostgreSQL could not store (a ``%00``;
    lone surrogates cannot arrive this way, Django decodes them to U+FFFD), or None.

    Consulted once PostgreSQL has refused a statement (core.api.problems): parameters reach
    the database through many readers (query serializers, filters, the directory's search, a
    path's emoji), and the refusal is the one place all of them pass."""
    lists = query.lists() if hasattr(query, "lists") else ((k, [v]) for k, v in query.items())
    for name, values in lists:
        if any(isinstance(value, str) and _UNSTORABLE.search(value) for value in values):
            return exceptions.ValidationError({name: [_UNSTORABLE_MESSAGE]})
    for name, value in path.items():
        if isinstance(value, str) and _UNSTORABLE.search(value):
            return exceptions.ValidationError({name: [_UNSTORABLE_MESSAGE]})
    return None
