"""Secrets handed to clients (session tokens, API keys) and the digests stored in their place.

Only a SHA-256 digest reaches the database: the secrets carry 256 random bits, so a fast,
unsalted digest is enough to make a stolen table useless, and it keeps the lookup one
equality on a unique index.
"""

import hashlib
import secrets

API_KEY_PREFIX = "atr_"
# Characters of the key, prefix included, shown in lists to tell keys apart.
API_KEY_VISIBLE_LENGTH = 12
_SECRET_BYTES = 32


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def visible_part(api_key: str) -> str:
    return api_key[:API_KEY_VISIBLE_LENGTH]
