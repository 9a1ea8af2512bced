"""Atrium's API as a client sees it, over plain HTTP on the loopback: one request, a login,
and many requests released together."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from threading import Barrier
from typing import Any

# accounts.demo.DEMO_PASSWORD, seed_demo's published password (that module needs Django set
# up, which a client of the API has no business doing).
DEMO_PASSWORD = "atrium-demo-password"  # noqa: S105
TIMEOUT_SECONDS = 60


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            status, raw, answer_headers = answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        status, raw, answer_headers = error.code, error.read(), dict(error.headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Response(status, parsed, answer_headers)


def answers(port: int) -> bool:
    """Whether an Atrium process on ``port`` answers its liveness probe."""
    try:
        return call(port, "GET", "/healthz").status == 200
    except OSError:
        return False


def login(port: int, handle: str) -> str:
    answer = call(
        port,
        "POST",
        "/api/v1/auth/login",
        body={"email": f"{handle}@atrium.local", "password": DEMO_PASSWORD},
    )
    if answer.status != 200:
        raise AssertionError(f"{handle} could not sign in: {answer.status} {answer.body}")
    return answer.body["token"]


@dataclass
class Tokens:
    """One sign-in per demo user for a whole run: sign-ins are throttled per address
    (production's 20 a minute), and a run's checks share their users."""

    port: int
    _tokens: dict[str, str] = field(default_factory=dict)

    def __call__(self, handle: str) -> str:
        if handle not in self._tokens:
            self._tokens[handle] = login(self.port, handle)
        return self._tokens[handle]


def at_once(count: int, request: Callable[[int], Response]) -> list[Response]:
    """``request(i)`` in ``count`` threads released together."""
    start = Barrier(count)

    def run(i: int) -> Response:
        start.wait()
        return request(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


# --- The API calls the checks make ----------------------------------------------------------


def user_id(port: int, token: str) -> str:
    return call(port, "GET", "/api/v1/me", token=token).body["id"]


def conversation_with(port: int, token: str, title: str, *others: str) -> str:
    created = call(
        port,
        "POST",
        "/api/v1/conversations",
        token=token,
        body={"title": title, "participants": [{"user_id": other} for other in others]},
    )
    if created.status != 201:
        raise AssertionError(f"conversation not created: {created.status} {created.body}")
    return created.body["id"]


def post_message(port: int, token: str, conversation: str, content: str) -> Response:
    return call(
        port,
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        token=token,
        body={"content": content},
    )


def message_texts(port: int, token: str, conversation: str) -> list[str]:
    """The newest page of a conversation's messages, newest first."""
    page = call(port, "GET", f"/api/v1/conversations/{conversation}/messages", token=token)
    if page.status != 200:
        raise AssertionError(f"messages not listed: {page.status} {page.body}")
    return [message["content"] for message in page.body["results"]]


def new_customer(port: int, token: str, name: str) -> str:
    customer = call(
        port,
        "POST",
        "/api/v1/billing/customers",
        token=token,
        body={"name": f"{name} {uuid.uuid4().hex[:8]}", "email": f"{uuid.uuid4().hex}@ex.com"},
    )
    if customer.status != 201:
        raise AssertionError(f"customer not created: {customer.status} {customer.body}")
    return customer.body["id"]


def draft_invoice(port: int, token: str, customer: str, amount: str) -> str:
    due = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    line = {"description": "Consulting", "quantity": "1", "unit_price": amount}
    invoice = call(
        port,
        "POST",
        "/api/v1/billing/invoices",
        token=token,
        body={"customer": customer, "due_date": due, "lines": [line]},
    )
    if invoice.status != 201:
        raise AssertionError(f"invoice not created: {invoice.status} {invoice.body}")
    return invoice.body["id"]


def open_invoice(port: int, token: str, amount: str) -> str:
    """A finalized invoice of ``amount`` for a new customer, ready to be paid."""
    invoice = draft_invoice(port, token, new_customer(port, token, "Scale"), amount)
    finalized = call(port, "POST", f"/api/v1/billing/invoices/{invoice}/finalize", token=token)
    if finalized.status != 200:
        raise AssertionError(f"invoice not finalized: {finalized.status} {finalized.body}")
    return invoice


def pay(port: int, token: str, invoice: str, amount: str, key: str | None = None) -> Response:
    return call(
        port,
        "POST",
        "/api/v1/billing/payments",
        token=token,
        body={"invoice": invoice, "amount": amount, "provider": "manual"},
        headers={"Idempotency-Key": key} if key else None,
    )
