"""Provider webhook signatures: HMAC-SHA256 over ``"<timestamp>.<raw body>"``.

The provider sends ``Atrium-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]``. A request
is genuine when its timestamp is within the tolerance of our clock and one of its ``v1``
signatures matches one of the provider's active secrets: several secrets are accepted at
once so a provider's secret can be rotated without dropping events, and several signatures
so the provider can sign with old and new during its own rotation.

Secrets come from ``settings.BILLING_WEBHOOK_SECRETS`` (provider → list of secrets), read from
the environment variable of that name: ``card=secret1,secret2;bank_transfer=secret3``.
"""

import hashlib
import hmac
import time

from django.conf import settings

SIGNATURE_HEADER = "Atrium-Signature"
TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """The request cannot be shown to come from the provider; the reason is for the log."""


def provider_secrets(provider: str) -> list[str]:
    return list(settings.BILLING_WEBHOOK_SECRETS.get(provider, []))


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature of ``body`` sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secrets: list[str], timestamp: int, body: bytes) -> str:
    """What a provider sends; used by tests and the benchmark."""
    signatures = ",".join(f"v1={sign(secret=s, timestamp=timestamp, body=body)}" for s in secrets)
    return f"t={timestamp},{signatures}"


def verify(*, provider: str, header: str, body: bytes, now: float | None = None) -> None:
    """Returns when the header proves ``body`` came from ``provider`` within the tolerance;
    raises InvalidSignature otherwise."""
    secrets = provider_secrets(provider)
    if not secrets:
        raise InvalidSignature(f"no secret is configured for provider {provider!r}")
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
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise InvalidSignature("the timestamp is outside the tolerance")
    expected = [sign(secret=secret, timestamp=timestamp, body=body) for secret in secrets]
    # Every pair compared in constant time; no early exit tells which secret matched.
    matched = [hmac.compare_digest(e, s) for e in expected for s in signatures]
    if not any(matched):
        raise InvalidSignature("no signature matches an active secret")
