"""Provider webhook signatures: core/signing.py's scheme, with each provider's secrets.

The provider sends ``Atrium-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]``. A request
is genuine when its timestamp is within the tolerance of our clock and one of its ``v1``
signatures matches one of the provider's active secrets: several secrets are accepted at
once so a provider's secret can be rotated without dropping events, and several signatures
so the provider can sign with old and new during its own rotation.

Secrets come from ``settings.BILLING_WEBHOOK_SECRETS`` (provider → list of secrets), read from
the environment variable of that name: ``card=secret1,secret2;bank_transfer=secret3``.
"""

from django.conf import settings

from core import signing
from core.signing import SIGNATURE_HEADER, InvalidSignature

__all__ = ["SIGNATURE_HEADER", "InvalidSignature", "provider_secrets", "verify"]


def provider_secrets(provider: str) -> list[str]:
    return list(settings.BILLING_WEBHOOK_SECRETS.get(provider, []))


def verify(*, provider: str, header: str, body: bytes, now: float | None = None) -> None:
    """Returns when the header proves ``body`` came from ``provider`` within the tolerance;
    raises InvalidSignature otherwise."""
    secrets = provider_secrets(provider)
    if not secrets:
        raise InvalidSignature(f"no secret is configured for provider {provider!r}")
    signing.verify(secrets=secrets, header=header, body=body, now=now)
