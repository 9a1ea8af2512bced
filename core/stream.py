"""The live side of the event log: one LISTEN per process, fanned out to its open streams.

Every committed event row notifies ``core.events.CHANNEL`` (migration core/0004's trigger;
PostgreSQL delivers a NOTIFY at commit only). Each server process keeps one ``EventHub``: one
connection LISTENs, and every wake-up costs one query for the events after the last id the hub
handed out, whatever the number of streams. The hub routes each event, by its audience, to the
local subscriptions that hold that audience key; a subscription decides the rest in memory.

The LISTEN connection goes straight to PostgreSQL (``settings.DATABASE_DIRECT_URL`` when the
default database is reached through a pooler, whose transaction mode cannot hold a LISTEN). When
it breaks (a database restart), the hub reconnects with a growing pause and reads everything
after the last id it handed out, so no open stream misses an event; the streams stay open
meanwhile. Ids become visible in increasing order (the commit-order lock of migration
core/0004), so "after the last id" never skips a late committer.

Who may read what is the registry's rule (``core.events.audience_keys``), held per subscription
as sets and fetched again when an event may have changed them (``core.events.Refresh``) and on
the stream's periodic credential check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from asgiref.sync import sync_to_async
from django.db import Error as DjangoDatabaseError
from django.db import close_old_connections

from core import events
from core.models import Event

logger = logging.getLogger(__name__)

# Events read per query: a wake-up after an outage reads its backlog in pages of this size.
PAGE_SIZE = 500
# How often the hub reads the table even without a notification: a safety net whose cost is
# one indexed query, and how a dead query path is noticed while nothing happens.
IDLE_READ_SECONDS = 5.0
RECONNECT_PAUSES = (0.2, 0.5, 1.0, 2.0, 5.0)
# How the LISTEN connection shows in pg_stat_activity.
LISTENER_NAME = "atrium event hub"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event as every stream sends it: rendered once per process, not once per reader."""

    id: int
    type: str
    audience: tuple[str, str]
    # The user the payload names (``user_id`` or ``user.id``), for ``Refresh.NAMED``.
    named_user: str | None
    # Set when the event may change some readers' keys of an audience kind.
    refresh: tuple[str, events.Refresh] | None
    frame: bytes


# Renders one event as the bytes a stream sends (core/api/event_stream.py: the SSE frame).
Render = Callable[[Event], bytes]


def _named_user(payload: object) -> str | None:
    # A payload is the API's representation of its object: a participant names its user as
    # ``user_id``, a share as ``user.id`` (its user summary).
    if not isinstance(payload, dict):
        return None
    user_id = payload.get("user_id")
    if user_id is None and isinstance(payload.get("user"), dict):
        user_id = payload["user"].get("id")
    return str(user_id) if user_id is not None else None


class Subscription:
    """One open stream's reader: who they are, the audience keys they may read, and the events
    waiting to be sent. The wait is bounded: a reader that stops reading is cut off
    (``overflowed``) and resumes from the table, rather than being buffered forever.

    A plain deque and one future per wait rather than an asyncio.Queue read through
    ``wait_for``: with a thousand streams on one busy conversation, this runs a thousand times
    per event."""

    def __init__(
        self,
        *,
        user_id: str,
        keys: dict[str, frozenset[str]],
        types: frozenset[str],
        backlog: int,
    ) -> None:
        self.user_id = user_id
        self.keys = keys
        self.types = types
        self.backlog = backlog
        self.overflowed = False
        # Refreshes of its keys begun and not yet ended (EventHub.begin_refresh).
        self.refreshing = 0
        self._waiting: deque[Delivery] = deque()
        self._waiter: asyncio.Future[None] | None = None

    @property
    def routes(self) -> set[tuple[str, str]]:
        return {(kind, key) for kind, keys in self.keys.items() for key in keys}

    def offer(self, delivery: Delivery) -> None:
        if self.overflowed:
            return
        if len(self._waiting) >= self.backlog:
            self._waiting.clear()
            self.overflowed = True
        else:
            self._waiting.append(delivery)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """Whether something arrived (or the reader overflowed) within ``timeout``."""
        if self._waiting or self.overflowed:
            return True
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        except TimeoutError:
            return False
        finally:
            self._waiter = None
        return True

    def take(self, limit: int) -> list[Delivery]:
        """Up to ``limit`` of the waiting events, oldest first."""
        return [self._waiting.popleft() for _ in range(min(limit, len(self._waiting)))]

    def sees(self, delivery: Delivery) -> bool:
        kind, key = delivery.audience
        if key not in self.keys.get(kind, ()):
            return False
        return not self.types or delivery.type in self.types


class EventHub:
    """The process's one listener (see the module docstring)."""

    def __init__(self, *, conninfo: str, render: Render) -> None:
        self._conninfo = conninfo
        self._render = render
        self._routes: dict[tuple[str, str], set[Subscription]] = defaultdict(set)
        self._by_user: dict[str, set[Subscription]] = defaultdict(set)
        self._subscriptions: set[Subscription] = set()
        # Subscriptions fetching their keys again: they get every event meanwhile.
        self._refreshing: set[Subscription] = set()
        # The last event id handed to the subscriptions; None until first connected.
        self.position: int | None = None
        self._connected = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0

    async def ready(self, timeout: float) -> bool:
        """Starts the hub if it is not running; whether it is connected within ``timeout``."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="atrium-event-hub")
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def attach(self, subscription: Subscription) -> int:
        """Routes the events after the returned id to ``subscription``; the caller replays
        the ones before it from the table."""
        if self.position is None:
            raise RuntimeError("attach() before the hub is ready()")
        self._subscriptions.add(subscription)
        self._by_user[subscription.user_id].add(subscription)
        for route in subscription.routes:
            self._routes[route].add(subscription)
        return self.position

    def detach(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        self._refreshing.discard(subscription)
        self._discard(self._by_user, subscription.user_id, subscription)
        for route in subscription.routes:
            self._discard(self._routes, route, subscription)

    def begin_refresh(self, subscription: Subscription) -> None:
        """From now until ``end_refresh``, every event goes to ``subscription``, which filters
        them with the keys it is fetching: routing by its old keys would miss the events of a
        key it is gaining."""
        subscription.refreshing += 1
        self._refreshing.add(subscription)

    def end_refresh(self, subscription: Subscription, keys: dict[str, frozenset[str]]) -> None:
        """Gives ``subscription`` the keys it fetched and routes by them from now on."""
        before, subscription.keys = subscription.routes, keys
        after = subscription.routes
        for route in before - after:
            self._discard(self._routes, route, subscription)
        for route in after - before:
            self._routes[route].add(subscription)
        subscription.refreshing -= 1
        if subscription.refreshing <= 0:
            subscription.refreshing = 0
            self._refreshing.discard(subscription)

    @staticmethod
    def _discard(index: dict, key: object, subscription: Subscription) -> None:
        holders = index.get(key)
        if holders is not None:
            holders.discard(subscription)
            if not holders:
                del index[key]

    def _route(self, delivery: Delivery) -> None:
        targets = self._routes.get(delivery.audience, set()) | self._refreshing
        if delivery.refresh is not None:
            _, refresh = delivery.refresh
            if refresh is events.Refresh.EVERYONE:
                targets = set(self._subscriptions)
            elif refresh is events.Refresh.NAMED and delivery.named_user is not None:
                targets |= self._by_user.get(delivery.named_user, set())
            # Each of them fetches its keys again when it reaches this event.
            for subscription in targets:
                self.begin_refresh(subscription)
        for subscription in tuple(targets):
            subscription.offer(delivery)

    async def _run(self) -> None:
        while True:
            try:
                await self._serve()
            except Exception as error:
                self._connected.clear()
                pause = RECONNECT_PAUSES[min(self._failures, len(RECONNECT_PAUSES) - 1)]
                self._failures += 1
                if is_database_error(error):
                    logger.warning("Event hub lost PostgreSQL (%s); again in %.1f s", error, pause)
                else:
                    # A bug must not leave every stream of the process silent for good.
                    logger.exception("Event hub failed; again in %.1f s", pause)
                await asyncio.sleep(pause)

    async def _serve(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, application_name=LISTENER_NAME
        ) as listener:
            await listener.execute(f"LISTEN {events.CHANNEL}")
            if self.position is None:
                self.position = await in_thread(_last_event_id)
            # Whatever committed while the hub was away is read before anything else.
            await self._read()
            self._connected.set()
            self._failures = 0
            async with asyncio.TaskGroup() as group:
                group.create_task(self._listen(listener))
                group.create_task(self._read_on_wake())

    async def _listen(self, listener: psycopg.AsyncConnection) -> None:
        async for _ in listener.notifies():
            self._wake.set()

    async def _read_on_wake(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_READ_SECONDS)
            # Cleared before reading: a notification that arrives during the read wakes the
            # next one, so none is lost between a read and the wait.
            self._wake.clear()
            await self._read()

    async def _read(self) -> None:
        position = self.position or 0
        while True:
            batch = await in_thread(_events_after, position, self._render)
            for delivery in batch:
                self._route(delivery)
            if batch:
                position = self.position = batch[-1].id
            if len(batch) < PAGE_SIZE:
                return


def is_database_error(error: BaseException) -> bool:
    """Whether ``error`` says PostgreSQL is out of reach (a restart, a failover, a cut
    connection), which waiting out mends, rather than a bug."""
    if isinstance(error, BaseExceptionGroup):
        return all(is_database_error(inner) for inner in error.exceptions)
    return isinstance(error, DjangoDatabaseError | psycopg.Error | OSError)


def _last_event_id() -> int:
    last = Event.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


def _events_after(position: int, render: Render) -> list[Delivery]:
    """The next page of events after ``position``, each rendered once for every stream."""
    return [
        Delivery(
            id=event.pk,
            type=event.type,
            audience=(event.audience_kind, event.audience_key),
            named_user=_named_user(event.payload),
            refresh=events.refresh_after(event.type),
            frame=render(event),
        )
        for event in Event.objects.filter(id__gt=position).order_by("id")[:PAGE_SIZE]
    ]


async def in_thread(function, *args, **kwargs):
    """Runs ORM work off the event loop, in the shared worker threads, and gives the thread's
    connection back afterwards: a stream lives for hours, a connection must not live with it."""

    def call():
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return await sync_to_async(call, thread_sensitive=False)()
