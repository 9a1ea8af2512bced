"""Request parsing for the API."""

import io
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
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc
