"""Webhook signatures, one scheme in both directions: HMAC-SHA256 over ``"<t>.<raw body>"``.

The header is ``Atrium-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]``. Payment providers
sign what they send us with it (billing/webhooks.py verifies), and Atrium signs its outgoing
webhooks with it (webhooks/delivery.py), so one verification recipe (docs/webhooks.md) serves
both. Several ``v1`` values let a sender sign with an old and a new secret while one rotates;
a receiver accepts a request when any of them matches any of its own secrets.
"""

import hashlib
import hmac
import time
from collections.abc import Iterable

SIGNATURE_HEADER = "Atrium-Signature"
TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """The request cannot be shown to come from its sender; the reason is for the log."""


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature of ``body`` sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """The header a sender puts on ``body``: one ``v1`` per secret it signs with."""
    signatures = ",".join(f"v1={sign(secret=s, timestamp=timestamp, body=body)}" for s in secrets)
    return f"t={timestamp},{signatures}"


def verify(
    *,
    secrets: Iterable[str],
    header: str,
    body: bytes,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Returns when ``header`` proves ``body`` was signed with one of ``secrets`` within
    ``tolerance`` seconds of ``now``; raises InvalidSignature otherwise."""
    secrets = list(secrets)
    if not secrets:
        raise InvalidSignature("no secret is configured")
    timestamp, signatures = None, []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("the signature header is malformed")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("the timestamp is outside the tolerance")
    expected = [sign(secret=secret, timestamp=timestamp, body=body) for secret in secrets]
    # Every pair compared in constant time; no early exit tells which secret matched.
    matched = [hmac.compare_digest(e, s) for e in expected for s in signatures]
    if not any(matched):
        raise InvalidSignature("no signature matches an active secret")
