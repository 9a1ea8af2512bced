"""System checks: configuration Atrium can tell is wrong before it serves a request."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from core.crypto import key_problems


@register()
def field_encryption_keys(**kwargs: Any) -> list[CheckMessage]:
    """Malformed keys in any environment (production also refuses them while loading its
    settings, since gunicorn runs no checks)."""
    return [
        Error(problem, id="core.E001", hint="Make one with Fernet.generate_key().")
        for problem in key_problems(settings.FIELD_ENCRYPTION_KEYS)
    ]
