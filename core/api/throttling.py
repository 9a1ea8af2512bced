"""Request throttles, counted in Django's default cache so every process shares them.

All four classes are in ``DEFAULT_THROTTLE_CLASSES``:

- ``AnonRateThrottle`` / ``UserRateThrottle``: the moderate ``anon`` and ``user`` rates that
  apply to every endpoint.
- ``ScopedIPRateThrottle`` / ``ScopedAccountRateThrottle``: the strict limits of sensitive
  endpoints. They do nothing unless the view declares ``throttle_scope`` (``"login"``,
  ``"register"``, ``"password_reset"``, ``"two_factor"``); the scope then needs two rates,
  ``"<scope>.ip"`` and ``"<scope>.account"``. Counting per IP slows one client trying many
  accounts; counting per account slows many clients trying one.

A view that overrides ``throttle_classes`` drops all of these; set ``throttle_scope`` instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

if TYPE_CHECKING:
    from rest_framework.views import APIView


class _LiveRates:
    """DRF copies the rates into a class attribute at import time, so a settings override
    (a deployment's or a test's) would never reach the throttles; read them per request."""

    @property
    def THROTTLE_RATES(self) -> dict[str, str | None]:
        return api_settings.DEFAULT_THROTTLE_RATES


class AnonRateThrottle(_LiveRates, throttling.AnonRateThrottle):
    """The ``anon`` rate, per client IP, for requests without credentials."""


class UserRateThrottle(_LiveRates, throttling.UserRateThrottle):
    """The ``user`` rate, per authenticated user."""


class _ScopedRateThrottle(_LiveRates, throttling.SimpleRateThrottle):
    """Applies the rate ``"<view.throttle_scope>.<dimension>"`` to the identity
    ``get_identity`` returns; no scope or no identity means no limit from this class."""

    dimension: ClassVar[str]

    def __init__(self) -> None:
        # The rate depends on the view's scope, which is only known in allow_request.
        pass

    def allow_request(self, request: Request, view: APIView) -> bool:
        view_scope = getattr(view, "throttle_scope", None)
        if not view_scope:
            return True
        self.scope = f"{view_scope}.{self.dimension}"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        identity = self.get_identity(request, view)
        if identity is None:
            return None
        # Hashed: keeps e-mail addresses out of the cache and keys short for any backend.
        ident = hashlib.sha256(identity.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def get_identity(self, request: Request, view: APIView) -> str | None:
        raise NotImplementedError


class ScopedIPRateThrottle(_ScopedRateThrottle):
    """Counts a sensitive scope per client IP (``REMOTE_ADDR``; see ``NUM_PROXIES``)."""

    dimension = "ip"

    def get_identity(self, request: Request, view: APIView) -> str | None:
        return self.get_ident(request)


class ScopedAccountRateThrottle(_ScopedRateThrottle):
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


def _body_email(data: Any) -> str | None:
    email = data.get("email") if isinstance(data, Mapping) else None
    return email.strip().casefold() if isinstance(email, str) else None
