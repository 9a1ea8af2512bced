"""Request throttles, counted in Django's default cache so every process shares them.

All five classes are in ``DEFAULT_THROTTLE_CLASSES``:

- ``AnonRateThrottle`` / ``UserRateThrottle``: the moderate ``anon`` and ``user`` rates that
  apply to every endpoint.
- ``ScopedIPRateThrottle`` / ``ScopedAccountRateThrottle``: the strict limits of sensitive
  endpoints. They do nothing unless the view declares ``throttle_scope`` (``"login"``,
  ``"register"``, ``"password_reset"``, ``"two_factor"``), or ``throttle_scopes`` mapping
  some of its actions to a scope; the scope then needs two rates, ``"<scope>.ip"`` and
  ``"<scope>.account"``. Counting per IP slows one client trying many accounts; counting per
  account slows many clients trying one.
- ``ScopedCallerRateThrottle``: the ``"<scope>.caller"`` rate, for a signed-in caller looking
  accounts up by the ``email`` of the body (``"share_by_email"``): there the caller is the
  one who could try many addresses, and counting per address would not slow them.

Each throttle is a fixed-window counter, created with its expiry and incremented atomically.
DRF's own throttles keep a list of timestamps and write it back after reading it, which costs
more and loses counts when workers race. In Redis (``REDIS_URL``), the production cache, a hit
is one command (a script: ``INCR``, and ``EXPIRE`` on the first hit); other caches get ``add``
and ``incr``. The price of fixed windows is that a client can spend two windows' worth across a
boundary, which a strict limit of a few requests a minute tolerates.

A view that overrides ``throttle_classes`` drops all of these; set ``throttle_scope`` instead.

When Redis does not answer (docs/operations.md, "Redis outage"), the two kinds part ways. The
``anon`` and ``user`` rates fail open: they keep one client from hogging the service, and
refusing every request because their counter is gone would turn a cache outage into a full
one. The scoped limits fail closed: they are what bounds password, code and registration
guessing, so those endpoints answer 503 (problem+json, ``Retry-After``) until Redis is back.
After a failure this process leaves Redis alone for ``REDIS_RETRY_SECONDS``: a Redis that
does not answer would otherwise cost every request a connection attempt (up to the cache's
1 s connect timeout when its host does not answer at all).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from core.api.problems import ServiceUnavailable
from core.net import client_ip

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

REDIS_RETRY_SECONDS = 5
# time.monotonic() before which this process does not try Redis again.
_redis_down_until = 0.0


class CountingUnavailable(ServiceUnavailable):
    """A limit that fails closed could not count this request."""

    default_detail = (
        "Attempts cannot be counted right now, so this endpoint is closed; try again shortly."
    )
    default_code = "rate_limit_unavailable"
    # Read by core.api.problems into Retry-After.
    wait = REDIS_RETRY_SECONDS


def parse_rate(rate: str) -> tuple[int, int]:
    """``"5/min"`` → (5, 60): requests allowed and the window in seconds."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


# One command, atomic: the counter and its expiry are created together.
_COUNT_HIT_LUA = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _redis_count_hit(cache: RedisCache):
    """The counting script, on a client of the cache's own connection pool (writes always go
    to its first server). Django exposes no client and its ``get_client`` builds a new one on
    every call, a measurable part of a request, so each cache handle (one per thread) keeps
    the script it registered."""
    script = getattr(cache, "_count_hit_script", None)
    if script is None:
        client = cache._cache.get_client(write=True)
        script = client.register_script(_COUNT_HIT_LUA)
        cache._count_hit_script = script  # type: ignore[attr-defined]
    return script


def count_hit(key: str, *, timeout: int) -> int | None:
    """Adds one to the counter ``key`` of the default cache, creating it to expire in
    ``timeout`` seconds, and returns the count with this hit; None when Redis does not answer
    (now, or within the last ``REDIS_RETRY_SECONDS``)."""
    global _redis_down_until
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        if time.monotonic() < _redis_down_until:
            return None
        try:
            # One round trip where the cache API takes three (add; incr checks the key first).
            script = _redis_count_hit(cache)
            return script(keys=[cache.make_and_validate_key(key)], args=[timeout])
        except RedisError:
            logger.warning(
                "Redis does not answer: general rates are not counted and scoped limits"
                " refuse for %s s",
                REDIS_RETRY_SECONDS,
                exc_info=True,
            )
            _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            return None
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


class _WindowThrottle(BaseThrottle):
    """Allows ``rate`` requests per window to each identity ``get_identity`` returns; no rate
    or no identity means no limit from this throttle. ``fails_closed``: whether a request the
    cache cannot count is refused (503) rather than let through."""

    fails_closed: ClassVar[bool] = False

    def allow_request(self, request: Request, view: APIView) -> bool:
        scope = self.get_scope(view)
        # Rates are read per request so a deployment's or a test's settings always apply.
        # The stubs type rates as numbers; DRF's are "count/period" strings.
        rate: str | None = (
            api_settings.DEFAULT_THROTTLE_RATES.get(scope) if scope else None  # type: ignore[assignment]
        )
        if not rate:
            return True
        identity = self.get_identity(request, view)
        if identity is None:
            return True
        allowed, window = parse_rate(rate)
        now = time.time()
        window_index = int(now // window)
        # Hashed: keeps e-mail addresses out of the cache and keys short for any backend.
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        count = count_hit(f"throttle:{scope}:{digest}:{window_index}", timeout=window + 1)
        if count is None:
            if self.fails_closed:
                raise CountingUnavailable()
            return True
        self.retry_after = math.ceil((window_index + 1) * window - now)
        return count <= allowed

    def wait(self) -> float | None:
        return getattr(self, "retry_after", None)

    def get_scope(self, view: APIView) -> str | None:
        raise NotImplementedError

    def get_identity(self, request: Request, view: APIView) -> str | None:
        raise NotImplementedError


class AnonRateThrottle(_WindowThrottle):
    """The ``anon`` rate, per client IP, for requests without credentials."""

    def get_scope(self, view: APIView) -> str:
        return "anon"

    def get_identity(self, request: Request, view: APIView) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return client_ip(request.META)


class UserRateThrottle(_WindowThrottle):
    """The ``user`` rate, per authenticated user."""

    def get_scope(self, view: APIView) -> str:
        return "user"

    def get_identity(self, request: Request, view: APIView) -> str | None:
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return None


class _ScopedThrottle(_WindowThrottle):
    """Applies the rate ``"<view.throttle_scope>.<dimension>"``."""

    dimension: ClassVar[str]
    fails_closed = True

    def get_scope(self, view: APIView) -> str | None:
        view_scope = getattr(view, "throttle_scopes", {}).get(getattr(view, "action", None))
        view_scope = view_scope or getattr(view, "throttle_scope", None)
        return f"{view_scope}.{self.dimension}" if view_scope else None


class ScopedIPRateThrottle(_ScopedThrottle):
    """Counts a sensitive scope per client IP (core/net.py: ``TRUSTED_PROXIES`` decides how far
    ``X-Forwarded-For`` is believed)."""

    dimension = "ip"

    def get_identity(self, request: Request, view: APIView) -> str | None:
        return client_ip(request.META)


class ScopedAccountRateThrottle(_ScopedThrottle):
    """Counts a sensitive scope per account, whether or not the account exists.

    The account is, in order: what the view's ``get_throttle_account(request)`` returns (for
    steps that identify it otherwise, like a pending two-factor challenge); the ``email`` of the
    request body, trimmed and case-folded so variants of one address share a count; the
    authenticated user.
    """

    dimension = "account"

    def get_identity(self, request: Request, view: APIView) -> str | None:
        if hasattr(view, "get_throttle_account"):
            account = view.get_throttle_account(request)
            if account is not None:
                return f"view:{account}"
        email = _body_email(request.data)
        if email:
            return f"email:{email}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return None


class ScopedCallerRateThrottle(_ScopedThrottle):
    """Counts a scope per signed-in caller, for requests that name an account by ``email``:
    one member resolving many addresses to accounts. Requests naming nobody by address (a
    share by user id) are not counted."""

    dimension = "caller"
    # What an address reveals here the member directory shows anyway (docs/security.md): the
    # limit slows bulk probing and is not worth closing sharing for while Redis is away.
    fails_closed = False

    def get_identity(self, request: Request, view: APIView) -> str | None:
        if request.user and request.user.is_authenticated and _body_email(request.data):
            return str(request.user.pk)
        return None


def _body_email(data: Any) -> str | None:
    email = data.get("email") if isinstance(data, Mapping) else None
    return email.strip().casefold() if isinstance(email, str) else None
