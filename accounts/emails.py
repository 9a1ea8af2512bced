"""The emails accounts sends. Services enqueue them (accounts.tasks.queue_email) in their
transaction; a worker sends each one after commit, so no request waits on SMTP and a
rolled-back change sends nothing. Only ids and facts go into the queue: links and tokens are
made here, when the email is sent."""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from . import tokens
from .models import User


def _send(*, user: User, template: str, subject: str, **context: Any) -> None:
    body = render_to_string(f"accounts/email/{template}.txt", {"user": user, **context})
    send_mail(subject, body, None, [user.email])


def _link(path: str, **params: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}?{urlencode(params)}"


def send_verification(*, user: User) -> None:
    token = tokens.verification_token(user)
    _send(
        user=user,
        template="verify_email",
        subject="Confirm your Atrium email address",
        token=token,
        link=_link("/verify-email", token=token),
    )


def send_already_registered(*, user: User) -> None:
    _send(user=user, template="already_registered", subject="Someone tried to sign up as you")


def send_password_reset(*, user: User) -> None:
    params = tokens.password_reset_params(user)
    _send(
        user=user,
        template="password_reset",
        subject="Reset your Atrium password",
        link=_link("/reset-password", **params),
        **params,
    )


# What ``queue_email`` may name: the kind of email → the function that sends it.
EMAILS: dict[str, Callable[..., None]] = {
    "verification": send_verification,
    "already_registered": send_already_registered,
    "password_reset": send_password_reset,
}
