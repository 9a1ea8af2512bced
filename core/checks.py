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


# What the admin needs of the middleware (its checks admin.E408-E410, silenced in
# config/settings/base.py because they only look in MIDDLEWARE), looked for where
# core.middleware.BrowserMiddleware runs it: every admin request goes through that list.
ADMIN_BROWSER_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)


@register()
def browser_middleware(**kwargs: Any) -> list[CheckMessage]:
    """The admin's middleware is in BROWSER_MIDDLEWARE, sessions before authentication, and
    BrowserMiddleware runs that list."""
    browser = list(getattr(settings, "BROWSER_MIDDLEWARE", []))
    problems: list[CheckMessage] = [
        Error(f"{path} must be in BROWSER_MIDDLEWARE for the admin.", id="core.E002")
        for path in ADMIN_BROWSER_MIDDLEWARE
        if path not in browser
    ]
    if not problems and browser.index(ADMIN_BROWSER_MIDDLEWARE[0]) > browser.index(
        ADMIN_BROWSER_MIDDLEWARE[1]
    ):
        problems.append(
            Error("SessionMiddleware must come before AuthenticationMiddleware.", id="core.E002")
        )
    if browser and "core.middleware.BrowserMiddleware" not in settings.MIDDLEWARE:
        problems.append(
            Error(
                "BROWSER_MIDDLEWARE is set but BrowserMiddleware is not in MIDDLEWARE.",
                id="core.E002",
            )
        )
    return problems
