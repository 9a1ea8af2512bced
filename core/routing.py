"""Which database a query goes to: the primary, or the read replica for reads that tolerate a
little lag (docs/scale-out.md).

Everything goes to the primary unless a view asks otherwise: writes, auth, lockout,
idempotency, and every query inside a transaction. A view opts a read in with
``read_tolerantly`` (the API through core.api.routing.ReplicaReadsMixin, the admin's
changelists through core.admin_site); its queries then go to the ``replica`` alias when all
of these hold:

- ``DATABASE_REPLICA_URL`` is set (otherwise there is no ``replica`` alias);
- the replica answers, is still in recovery, streams from the primary and lags at most
  ``DATABASE_REPLICA_MAX_LAG`` seconds (checked at most every
  ``DATABASE_REPLICA_CHECK_INTERVAL`` seconds per process);
- the caller has not written within the read-your-writes window: ``ReadYourWritesMiddleware``
  marks a user in the shared cache (Redis in production) after every unsafe request, so
  whichever process serves their next read knows, and the mark outlives any lag a usable
  replica may have.

A replica that fails while serving a read costs no request: the read is run again on the
primary and the replica is held unusable until the next check. /readyz reports a replica
that cannot be used as "degraded" (core/views.py), since requests are still served.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

from core import sql
from core.postgres import DIRECT_DB_ALIAS, probe

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA_DB_ALIAS = "replica"
# The replica check's own connection: a dead replica must be noticed at once, not after the
# pool's wait. 2 s is libpq's shortest connect timeout.
REPLICA_CHECK_CONNECT_TIMEOUT = 2
REPLICA_CHECK_STATEMENT_TIMEOUT_MS = 1000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# The alias reads go to while a tolerant read runs; None everywhere else.
_tolerant_reads_from: ContextVar[str | None] = ContextVar("tolerant_reads_from", default=None)


def read_alias() -> str:
    """The alias for a read issued now: the replica inside a tolerant read that was routed
    there, unless a transaction is open on the primary (its reads must see its own writes)."""
    alias = _tolerant_reads_from.get()
    if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return alias


class PrimaryReplicaRouter:
    """Django's router (DATABASE_ROUTERS): reads follow ``read_alias``; writes and migrations
    go to the primary. Hand-written SQL in a selector asks ``read_alias`` itself."""

    _same_data = frozenset({DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS, DIRECT_DB_ALIAS})

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        # No opinion outside a tolerant read: Django's own choice (the hinted instance's
        # database, or the default) stands.
        return REPLICA_DB_ALIAS if read_alias() == REPLICA_DB_ALIAS else None

    def db_for_write(self, model: Any, **hints: Any) -> str:
        # An instance read from the replica is saved on the primary.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The aliases are one database seen through different doors.
        if {obj1._state.db, obj2._state.db} <= self._same_data:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        # `migrate --database direct` bypasses the pooler; the replica follows the primary.
        return db != REPLICA_DB_ALIAS


@dataclass(frozen=True, slots=True)
class ReplicaState:
    usable: bool
    # Why the replica is not used; empty when it is.
    problem: str = ""
    lag_seconds: float | None = None


_state: ReplicaState | None = None
_checked_at = -math.inf
_state_lock = threading.Lock()


def replica_configured() -> bool:
    return REPLICA_DB_ALIAS in settings.DATABASES


def replica_state(*, fresh: bool = False) -> ReplicaState | None:
    """The replica's state as this process last saw it, checked again when older than
    ``DATABASE_REPLICA_CHECK_INTERVAL`` (or when ``fresh``); None without a replica."""
    global _state, _checked_at
    if not replica_configured():
        return None
    with _state_lock:
        if fresh or _state is None or time.monotonic() - _checked_at >= _check_interval():
            _state = _check_replica()
            _checked_at = time.monotonic()
        return _state


def _check_interval() -> float:
    return float(settings.DATABASE_REPLICA_CHECK_INTERVAL)


def _check_replica() -> ReplicaState:
    try:
        ((in_recovery, streaming, lag),) = probe(
            connections[REPLICA_DB_ALIAS].get_connection_params(),
            sql.REPLICA_STATE,
            connect_timeout=REPLICA_CHECK_CONNECT_TIMEOUT,
            statement_timeout_ms=REPLICA_CHECK_STATEMENT_TIMEOUT_MS,
        )
    except psycopg.Error as error:
        logger.warning("The read replica does not answer: %s", error)
        return ReplicaState(usable=False, problem="The read replica does not answer.")
    if not in_recovery:
        return ReplicaState(
            usable=False, problem="The read replica is not in recovery (promoted?)."
        )
    if not streaming:
        return ReplicaState(usable=False, problem="The read replica is not streaming.")
    max_lag = float(settings.DATABASE_REPLICA_MAX_LAG)
    if lag is None or lag > max_lag:
        shown = "an unknown time" if lag is None else f"{lag:.1f} s"
        return ReplicaState(
            usable=False,
            problem=f"The read replica lags {shown}, more than {max_lag:g} s.",
            lag_seconds=lag,
        )
    return ReplicaState(usable=True, lag_seconds=lag)


def _replica_failed(error: Exception) -> None:
    global _state, _checked_at
    logger.warning("A read on the replica failed; the primary serves it: %s", error)
    with _state_lock:
        _state = ReplicaState(usable=False, problem="A read on the read replica failed.")
        _checked_at = time.monotonic()


# --- read-your-writes -----------------------------------------------------------------------


def read_your_writes_seconds() -> int:
    """How long a caller's reads stay on the primary after they write: longer than the lag a
    usable replica may have when last checked plus what it may gather until the next check."""
    return math.ceil(
        float(settings.DATABASE_REPLICA_MAX_LAG) + float(settings.DATABASE_REPLICA_CHECK_INTERVAL)
    )


def _wrote_key(user_id: Any) -> str:
    return f"routing:wrote:{user_id}"


def note_write(user_id: Any) -> None:
    try:
        cache.set(_wrote_key(user_id), 1, timeout=read_your_writes_seconds())
    except Exception:
        # The write is committed and answered; while the cache is out, wrote_recently keeps
        # everyone's tolerant reads on the primary anyway.
        logger.warning("Could not mark a write for read-your-writes", exc_info=True)


def wrote_recently(user_id: Any) -> bool:
    """Whether the user wrote within the window; True when the cache cannot say, so that
    nobody's own write can vanish while it is out."""
    try:
        return cache.get(_wrote_key(user_id)) is not None
    except Exception:
        logger.warning("Could not read a read-your-writes mark", exc_info=True)
        return True


class ReadYourWritesMiddleware:
    """Marks an authenticated caller after every unsafe request, whatever its outcome (a
    failed request may still have written, e.g. a lockout), so their reads stay on the primary
    for ``read_your_writes_seconds``. Only with a replica: without one there is nothing to
    mark."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and replica_configured():
            # DRF puts the user it authenticated on the underlying request.
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                note_write(user.pk)
        return response


# --- tolerant reads -------------------------------------------------------------------------


@contextmanager
def _reads_from(alias: str) -> Iterator[None]:
    token = _tolerant_reads_from.set(alias)
    try:
        yield
    finally:
        _tolerant_reads_from.reset(token)


def _tolerant_alias(user_id: Any) -> str:
    if not replica_configured() or (user_id is not None and wrote_recently(user_id)):
        return DEFAULT_DB_ALIAS
    state = replica_state()
    return REPLICA_DB_ALIAS if state is not None and state.usable else DEFAULT_DB_ALIAS


Result = TypeVar("Result")


def read_tolerantly(read: Callable[..., Result], *, user_id: Any) -> Callable[..., Result]:
    """``read`` (a view's handler, which must only read) served from the replica when it may
    be; run again on the primary if the replica fails under it. ``user_id``: the caller, whose
    recent writes keep them on the primary (None for an anonymous caller)."""

    def run(*args: Any, **kwargs: Any) -> Result:
        alias = _tolerant_alias(user_id)
        with _reads_from(alias):
            if alias == DEFAULT_DB_ALIAS:
                return read(*args, **kwargs)
            try:
                return read(*args, **kwargs)
            except (OperationalError, InterfaceError) as error:
                # A stopped replica, a dropped connection, or a query cancelled by a recovery
                # conflict: nothing was written, so the primary answers instead.
                _replica_failed(error)
                connections[REPLICA_DB_ALIAS].close_if_unusable_or_obsolete()
        return read(*args, **kwargs)

    return run
