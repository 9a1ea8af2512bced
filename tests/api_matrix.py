"""One declarative permission matrix for every app's API, in the manner of NetBox's API test
cases: an app states, as data, each endpoint and what each kind of caller is answered; one
parametrized test per app runs every endpoint for every caller, and one pins the query count
of every list.

An app declares its callers (``"anonymous"``, ``"member"``, ``"owner"``, ``"stranger"``,
``"read_key"``…) and its endpoints::

    MATRIX = Matrix(
        callers=("anonymous", "owner", "viewer", "stranger"),
        endpoints=[
            Endpoint("rename", "patch", "/api/v1/things/{thing}", {"title": "x"},
                     ok={"owner"}, forbidden={"viewer"}),
        ],
    )

and a fixture that builds a :class:`Scene`: the ids the paths name and one credential per
caller. The answer each caller expects follows the house rules: a caller in ``ok`` gets the
endpoint's success ``status``; one in ``forbidden`` (it may see the object, not do this) 403;
anonymous callers 401; every other caller ``others``, which is 404 where the object is hidden
from them (objects a caller may not see are 404, never 403) and 403 where the endpoint is
closed to their role. ``exact`` names a caller whose answer follows another rule (the last
owner may not leave: 409); ``gaps`` names a caller the API answers against the rule today.

Every object a path names must be the caller's for the path to answer: ``probes()`` takes each
``{name}`` of an endpoint's path in turn and puts in its place an id nothing has (a random
UUID, a number past any version) and, where the scene names one in ``foreign``, an object of
the same kind that is not this path's (a message of another conversation the caller is also
in); a caller who succeeds with the real ids must get 404 for both, before any rule or input
check could say more.
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.credentials import digest
from accounts.models import User
from tests.factories import ApiKeyFactory, ApiSessionFactory

ANONYMOUS = "anonymous"


def bearer(user: User) -> str:
    """The Authorization header of a new live session of ``user``."""
    token = secrets.token_urlsafe(32)
    ApiSessionFactory(user=user, token=digest(token))
    return f"Bearer {token}"


def api_key(user: User, scopes: Iterable[str] = ()) -> str:
    """The Authorization header of a new API key of ``user`` limited to ``scopes``."""
    key = f"atr_{secrets.token_urlsafe(32)}"
    ApiKeyFactory(user=user, key=digest(key), scopes=sorted(scopes))
    return f"Api-Key {key}"


@dataclass
class Scene:
    """What an app's fixture builds for the matrix: ``ids`` fills the ``{names}`` of paths
    and bodies; ``credentials`` holds each caller's Authorization header (None: anonymous)."""

    ids: dict[str, str]
    credentials: dict[str, str | None]
    # Per name of ``ids``: an object of the same kind that belongs elsewhere.
    foreign: dict[str, str] = field(default_factory=dict)

    def client(self, caller: str) -> APIClient:
        client = APIClient()
        if self.credentials[caller] is not None:
            client.credentials(HTTP_AUTHORIZATION=self.credentials[caller])
        return client


Body = Mapping[str, Any] | Callable[[Mapping[str, str]], Mapping[str, Any]] | None


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    # Filled from Scene.ids with str.format_map.
    path: str
    # A mapping, or a function of Scene.ids giving one.
    body: Body = None
    ok: Iterable[str] = ()
    status: int = 200
    forbidden: Iterable[str] = ()
    others: int = 404
    exact: Mapping[str, int] = field(default_factory=dict)
    # Callers answered otherwise than the rule above says they should be, and why: a known
    # hole, run as a strict xfail so that closing it shows (and the entry must go).
    gaps: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    # For a GET collection: the queries one page costs, pinned (authentication included).
    queries: int | None = None
    # Whether grow() adds rows this list shows (not so: this month's revenue, one row; a
    # first page already full).
    grows: bool = True

    def expected(self, caller: str) -> int:
        if caller in self.exact:
            return self.exact[caller]
        if caller in self.ok:
            return self.status
        if caller == ANONYMOUS:
            return 401
        return 403 if caller in self.forbidden else self.others

    def path_names(self) -> list[str]:
        """The ``{names}`` of the path itself (a query string's are filters, not objects)."""
        path = self.path.partition("?")[0]
        return [name for _, name, _, _ in string.Formatter().parse(path) if name]

    def prober(self) -> str | None:
        """The first caller (by name) who succeeds: the one for whom a 404 can only mean the
        object, never the caller."""
        return min(self.ok, default=None)

    def send(self, client: APIClient, ids: Mapping[str, str]):
        body = self.body(ids) if callable(self.body) else self.body
        return getattr(client, self.method)(
            self.path.format_map(ids), body, format="json", **self.headers
        )


class Matrix:
    """An app's endpoints and callers; ``cases()`` and ``lists()`` parametrize its tests."""

    def __init__(self, *, callers: Iterable[str], endpoints: Iterable[Endpoint], reader: str):
        self.callers = tuple(callers)
        self.endpoints = {endpoint.name: endpoint for endpoint in endpoints}
        # The caller whose lists the query counts are pinned for.
        self.reader = reader
        for endpoint in self.endpoints.values():
            named = {*endpoint.ok, *endpoint.forbidden, *endpoint.exact, *endpoint.gaps}
            unknown = named - set(self.callers)
            assert not unknown, f"{endpoint.name} names unknown callers {unknown}"

    def __getitem__(self, name: str) -> Endpoint:
        return self.endpoints[name]

    def cases(self) -> list:
        return [
            pytest.param(
                endpoint,
                caller,
                id=f"{endpoint.name}-{caller}",
                marks=[pytest.mark.xfail(strict=True, reason=endpoint.gaps[caller])]
                if caller in endpoint.gaps
                else [],
            )
            for endpoint in self.endpoints.values()
            for caller in self.callers
        ]

    def probes(self) -> list:
        """(endpoint, path name, "unknown" or "foreign") for every object a path names."""
        return [
            pytest.param(endpoint, name, kind, id=f"{endpoint.name}-{name}-{kind}")
            for endpoint in self.endpoints.values()
            if endpoint.prober() is not None
            for name in endpoint.path_names()
            # One object alone cannot be in the wrong place.
            for kind in ("unknown", "foreign")[: len(endpoint.path_names())]
        ]

    def lists(self) -> list:
        return [
            pytest.param(endpoint, id=endpoint.name)
            for endpoint in self.endpoints.values()
            if endpoint.queries is not None
        ]

    @staticmethod
    def check(scene: Scene, endpoint: Endpoint, caller: str) -> None:
        response = endpoint.send(scene.client(caller), scene.ids)

        assert response.status_code == endpoint.expected(caller), response.content
        if response.status_code >= 400:
            assert response["Content-Type"].startswith("application/problem+json")

    @staticmethod
    def check_probe(scene: Scene, endpoint: Endpoint, name: str, kind: str) -> None:
        if kind == "foreign":
            if name not in scene.foreign:
                pytest.skip(f"the scene has no {name} that belongs elsewhere")
            value = scene.foreign[name]
        else:
            value = _unknown_like(scene.ids[name])
        caller = endpoint.prober()
        assert caller is not None

        response = endpoint.send(scene.client(caller), {**scene.ids, name: value})

        assert response.status_code == 404, response.content
        assert response["Content-Type"].startswith("application/problem+json")

    def check_queries(
        self, scene: Scene, endpoint: Endpoint, grow: Callable[[], None], assert_num_queries
    ) -> None:
        """The list costs ``endpoint.queries`` once ``grow()`` has added rows, and again
        after it adds more: an N+1 would make the second count larger."""
        client = scene.client(self.reader)
        rows = []
        for _ in range(2):
            grow()
            with assert_num_queries(endpoint.queries):
                response = endpoint.send(client, scene.ids)
            assert response.status_code == 200, response.content
            rows.append(_rows(response.json()))
        if endpoint.grows:
            # A page of several rows, and more once grown: the count saw them all.
            assert 2 <= rows[0] < rows[1], rows


def _unknown_like(value: str) -> str:
    """An id of the same form as ``value`` that names nothing."""
    if value.isdigit():
        return "9" * 9
    try:
        uuid.UUID(value)
    except ValueError:
        return f"{value}-unknown"
    return str(uuid.uuid4())


def _rows(body) -> int:
    return len(body["results"] if isinstance(body, dict) else body)
