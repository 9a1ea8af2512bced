"""The refusals of the accounts services."""

import math
from datetime import datetime

from django.utils import timezone

from core.exceptions import DomainError, Locked, NotFound, PermissionDenied, ValidationFailed

__all__ = [
    "AccountLocked",
    "EmailNotVerified",
    "InvalidCredentials",
    "NotFound",
    "ValidationFailed",
]


class InvalidCredentials(DomainError):
    """The same refusal for an unknown email and a wrong password."""

    status = 401
    default_code = "invalid_credentials"
    default_title = "Invalid credentials"
    default_detail = "The email or password is incorrect."


class EmailNotVerified(PermissionDenied):
    default_code = "email_not_verified"
    default_detail = "Confirm your email address first; we can send the link again."


class AccountLocked(Locked):
    default_code = "account_locked"
    default_title = "Account locked"

    def __init__(self, locked_until: datetime) -> None:
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
        super().__init__(
            f"Too many failed sign-ins; the account is locked until {locked_until.isoformat()}.",
            retry_after=seconds,
            extensions={"locked_until": locked_until.isoformat()},
        )
