"""``GET /api/v1/events/stream``: the event log, live, as Server-Sent Events.

Each event is one SSE message: ``id:`` is its cursor, ``event:`` its type and ``data:`` the
JSON ``GET /api/v1/events`` returns for it. A client that reconnects with ``Last-Event-ID``
(what browsers' EventSource sends by itself) or ``?after=<id>`` first gets every event it
missed, read from the table in order, then the live ones, with no gap and no duplicate. A
client that names no cursor gets what happens from now on. Comment lines (``: keep-alive``)
every ``EVENT_STREAM_HEARTBEAT_SECONDS`` keep proxies from closing a quiet stream.

Every ``EVENT_STREAM_RECHECK_SECONDS`` the stream authenticates its credential again and
fetches what the caller may read again; a revoked session or key ends it with a
``stream.ended`` message (``{"reason": "credential_revoked"}``). A reader too slow to keep up
with ``EVENT_STREAM_BACKLOG`` events is ended the same way (``"reason": "backlog"``), and
resumes from the table with its Last-Event-ID.

The ASGI server serves this path itself (config/asgi.py hands it to ``application`` below,
before Django's request cycle): a stream lives for hours, and Django's cycle would keep a
thread for each one. Authentication, query validation and problems are the API's own:
the authentication classes of ``REST_FRAMEWORK``, ``EventQuery``'s fields, problem+json. Under
a WSGI server the path answers 404 saying where the stream is served (``StreamElsewhereView``,
which also documents the stream in the OpenAPI schema).
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import weakref
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from core import events, postgres
from core.models import Event
from core.stream import EventHub, Subscription, in_thread, is_database_error

from .events import EventOutput, EventQuery
from .permissions import request_has_perm
from .problems import problem_response
from .schema import problem_responses
from .validation import validated_query

logger = logging.getLogger(__name__)

PATH = "/api/v1/events/stream"
# How long a new stream waits for its process's listener to reach PostgreSQL before 503.
CONNECT_TIMEOUT_SECONDS = 5.0
# Events replayed per query when a client resumes.
REPLAY_PAGE = 500
# Events already waiting that go out in one write.
WRITE_BATCH = 100

_render_json = JSONRenderer().render


def sse_frame(event: Event) -> bytes:
    """One SSE message; the JSON is compact, so it never spans lines."""
    data = _render_json(EventOutput(event).data)
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.pk, event.type.encode(), data)


def _ended(reason: str) -> bytes:
    return b"event: stream.ended\ndata: %s\n\n" % json.dumps({"reason": reason}).encode()


KEEP_ALIVE = b": keep-alive\n\n"

_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EventHub] = weakref.WeakKeyDictionary()


def hub() -> EventHub:
    """The process's listener (one per event loop, which a server process has one of)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = EventHub(conninfo=postgres.direct_conninfo(), render=sse_frame)
    return _hubs[loop]


class StreamQuery(EventQuery):
    after = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text="Replay the events after this id first (as `Last-Event-ID` does); without "
        "either, the stream starts with what happens next.",
    )
    page_size = None  # type: ignore[assignment]  # a stream has no pages


@dataclass(frozen=True, slots=True)
class Reader:
    """Who opened the stream and what they may read, as of the last check."""

    user: Any
    user_id: str
    may: events.May
    keys: dict[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class Opening:
    reader: Reader
    after: int | None
    types: frozenset[str]


def _authenticate(request: HttpRequest) -> Request:
    """The API's authentication for a request Django's middleware never saw: the header
    credentials, and the browser session staff sign in with (read afresh on every call, so a
    session ended since the last check is noticed)."""
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    request.user = SimpleLazyObject(lambda: auth.get_user(request))  # type: ignore[assignment]
    # The API's authentication classes, as any of its views would use them.
    drf_request = Request(request, authenticators=StreamElsewhereView().get_authenticators())
    if not drf_request.user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return drf_request


def _reader(drf_request: Request) -> Reader:
    user = drf_request.user
    may = functools.partial(request_has_perm, drf_request)
    return Reader(
        user=user, user_id=str(user.pk), may=may, keys=events.audience_keys(user=user, may=may)
    )


def _open(request: HttpRequest) -> Opening | HttpResponse:
    """The stream's opening checks, as the API answers them: a problem, or what to stream."""
    try:
        drf_request = _authenticate(request)
        query = validated_query(StreamQuery, request.GET)
        after = _last_event_id(request) or query.get("after")
        return Opening(reader=_reader(drf_request), after=after, types=frozenset(query["type"]))
    except exceptions.APIException as error:
        response = problem_response(request, error)
        if isinstance(error, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            response["WWW-Authenticate"] = 'Bearer realm="atrium"'
        return response


def _last_event_id(request: HttpRequest) -> int | None:
    header = request.headers.get("Last-Event-ID", "").strip()
    if not header:
        return None
    if not header.isascii() or not header.isdigit() or int(header) > 2**63 - 1:
        raise exceptions.ValidationError({"Last-Event-ID": ["Send the id of an event."]})
    return int(header)


def _recheck(request: HttpRequest, reader: Reader) -> Reader | None:
    """The reader as of now, or None if their credential no longer holds (or is someone
    else's)."""
    try:
        drf_request = _authenticate(request)
    except exceptions.APIException:
        return None
    if str(drf_request.user.pk) != reader.user_id:
        return None
    return _reader(drf_request)


def _replay(reader: Reader, *, after: int, types: frozenset[str]) -> list[Event]:
    return events.events_after(
        user=reader.user, may=reader.may, after=after, limit=REPLAY_PAGE, types=types
    )


async def application(scope: dict, receive, send) -> None:
    """The ASGI application of ``PATH`` (GET)."""
    request = ASGIRequest(scope, io.BytesIO())
    opened = await in_thread(_open, request)
    if isinstance(opened, HttpResponse):
        await _send_response(send, opened)
        return
    listener = hub()
    if not await listener.ready(CONNECT_TIMEOUT_SECONDS):
        error = exceptions.APIException("The event stream cannot reach the database; retry.")
        error.status_code = 503
        response = problem_response(request, error)
        response["Retry-After"] = "5"
        await _send_response(send, response)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
                # nginx would otherwise hold the stream back in its buffers.
                (b"x-accel-buffering", b"no"),
            ],
        }
    )
    streaming = asyncio.ensure_future(_stream(request, opened, listener, send))
    disconnected = asyncio.ensure_future(_disconnect(receive))
    await asyncio.wait({streaming, disconnected}, return_when=asyncio.FIRST_COMPLETED)
    for task in (streaming, disconnected):
        task.cancel()
    if not streaming.done() or streaming.cancelled():
        return  # the client went away
    if (failure := streaming.exception()) is not None:
        logger.error("Event stream failed", exc_info=failure)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _stream(request: HttpRequest, opening: Opening, listener: EventHub, send) -> None:
    reader = opening.reader
    subscription = Subscription(
        user_id=reader.user_id,
        keys=reader.keys,
        types=opening.types,
        backlog=settings.EVENT_STREAM_BACKLOG,
    )
    live_from = listener.attach(subscription)
    try:

        async def emit(body: bytes) -> None:
            await send({"type": "http.response.body", "body": body, "more_body": True})

        await emit(b"retry: 2000\n\n")
        sent = opening.after if opening.after is not None else live_from
        # Everything up to the hub's position is in the table; the subscription holds what
        # follows.
        while opening.after is not None:
            missed = await in_thread(_replay, reader, after=sent, types=opening.types)
            if missed:
                await emit(b"".join(sse_frame(event) for event in missed))
                sent = missed[-1].pk
            if len(missed) < REPLAY_PAGE:
                break
        loop = asyncio.get_running_loop()
        heartbeat = settings.EVENT_STREAM_HEARTBEAT_SECONDS
        recheck_at = loop.time() + settings.EVENT_STREAM_RECHECK_SECONDS
        while True:
            arrived = await subscription.wait(heartbeat)
            if loop.time() >= recheck_at:
                listener.begin_refresh(subscription)
                rechecked = await _unless_unreachable(_recheck, request, reader, otherwise=reader)
                if rechecked is None:
                    await emit(_ended("credential_revoked"))
                    return
                reader = rechecked
                listener.end_refresh(subscription, reader.keys)
                recheck_at = loop.time() + settings.EVENT_STREAM_RECHECK_SECONDS
            if subscription.overflowed:
                await emit(_ended("backlog"))
                return
            if not arrived:
                await emit(KEEP_ALIVE)
                continue
            # Whatever is already waiting goes out in one write.
            frames: list[bytes] = []
            for delivery in subscription.take(WRITE_BATCH):
                if delivery.refresh is not None:
                    # The hub began this refresh when it routed the event here.
                    keys = await _unless_unreachable(_reader_keys, reader, otherwise=reader.keys)
                    listener.end_refresh(subscription, keys)
                if delivery.id > sent:  # not replayed from the table already
                    if subscription.sees(delivery):
                        frames.append(delivery.frame)
                    sent = delivery.id
            if frames:
                await emit(b"".join(frames))
    finally:
        listener.detach(subscription)


async def _unless_unreachable(function, *args, otherwise):
    """``function``'s answer (ORM work, in a worker thread), or ``otherwise`` while PostgreSQL
    is out of reach. A stream outlives a database restart (the hub reads what it missed once
    it is back): the credential and the keys as last checked stand until the next check."""
    try:
        return await in_thread(function, *args)
    except Exception as error:
        if not is_database_error(error):
            raise
        logger.warning("Event stream could not recheck its reader (%s); kept as it was", error)
        return otherwise


def _reader_keys(reader: Reader) -> dict[str, frozenset[str]]:
    return events.audience_keys(user=reader.user, may=reader.may)


async def _send_response(send, response: HttpResponse) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in response.items()
            ],
        }
    )
    await send({"type": "http.response.body", "body": response.content})


class StreamElsewhereView(APIView):
    """Reached only under a WSGI server: the stream is the ASGI server's (module docstring)."""

    @extend_schema(
        operation_id="events_stream",
        summary="The event log, live (Server-Sent Events)",
        description=(
            "`text/event-stream`: each message's `id` is the event's cursor, `event` its type "
            "and `data` the JSON of `GET /api/v1/events`. Resume with `Last-Event-ID` or "
            "`?after=`; `: keep-alive` comments mark quiet time; `stream.ended` says why the "
            "server ended it (`credential_revoked`, `backlog`). Served by the ASGI server."
        ),
        parameters=[
            StreamQuery,
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                description="Resume after this event id (EventSource sends it by itself).",
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR),
            **problem_responses(400, 401, 404, 503),
        },
    )
    def get(self, request):
        raise exceptions.NotFound(
            "This server does not serve the event stream: the ASGI server (config/asgi.py) does."
        )
