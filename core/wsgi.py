"""What the WSGI application does before Django sees a request."""

import io
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def sized_chunked_bodies(application: WSGIApp) -> WSGIApp:
    """Gives a chunked request body (no Content-Length) the length it has.

    Django reads ``CONTENT_LENGTH`` bytes of a body and, without it, none: a chunked JSON body
    would be taken for an empty one, and no size cap would ever see it. Up to
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` + 1 bytes are read and handed on as a sized body, so
    Django's and the JSON parser's caps answer an oversized one with 413 as they do a sized
    one, and nothing past the cap is read. (Atrium takes no streamed uploads.)"""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            stream = environ["wsgi.input"]
            body = stream.read() if limit is None else stream.read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return application(environ, start_response)

    return app
