"""Encryption of the few secrets the application must read back (TOTP secrets), as opposed to
the ones it only compares (passwords, tokens), which are hashed instead.

Keys come from ``settings.FIELD_ENCRYPTION_KEYS``: Fernet keys, the first of which encrypts
while every one of them decrypts, so a new key can be put first and the old one dropped once
nothing is encrypted with it any more. Without keys, one is derived from ``SECRET_KEY``; that
ties the stored secrets to the signing key (rotating SECRET_KEY would make them unreadable), so
production sets keys of its own.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "key_problems"]

# Distinct from every other use of SECRET_KEY (signing), so the derived key reveals nothing
# about it and the signatures reveal nothing about the key.
_HKDF_INFO = b"atrium.core.crypto.field-encryption"


def _key_from_secret_key() -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode()))


def key_problems(keys: list[str]) -> list[str]:
    """What is wrong with each configured key, so a bad one stops the process at start rather
    than at the first 2FA sign-in. Keys are named by position, never shown."""
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                f"FIELD_ENCRYPTION_KEYS key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            )
    return problems


def _fernet() -> MultiFernet:
    # Built per call (it is cheap) so a settings change, a test's included, takes effect.
    keys = settings.FIELD_ENCRYPTION_KEYS or [_key_from_secret_key()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(text: str) -> str:
    """An authenticated, timestamped ciphertext of ``text`` (URL-safe ASCII)."""
    return _fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The text ``encrypt`` was given. Raises ``InvalidToken`` when no configured key opens
    ``token`` or it was tampered with."""
    return _fernet().decrypt(token.encode("ascii")).decode()
