"""The emails accounts sends. Services enqueue them (accounts.tasks.queue_email) in their
transaction; a worker sends each one after commit, so no request waits on SMTP and a
rolled-back change sends nothing. Only ids and facts go into the queue: links and tokens are
made here, when the email is sent."""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.template import Context, engines

from . import tokens
from .models import User


def _send(*, user: User, template: str, subject: str, **context: Any) -> None:
    # The bodies are plain text, not HTML: escaping would turn a link's "&" into "&amp;" and
    # break it (the values are ours: links, tokens, the address).
    text = engines["django"].engine.get_template(f"accounts/email/{template}.txt")  # type: ignore[attr-defined]
    body = text.render(Context({"user": user, **context}, autoescape=False))
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


# --- Security notices: what happened, when, from where, and what to do if it wasn't them --

_NOT_YOU = (
    "If this was not you, someone else may know your password: reset it now at {reset}, "
    "then sign out your other sessions and tell your administrator."
)


def _notice(
    *, user: User, subject: str, what: str, advice: str, when: str, ip: str, device: str
) -> None:
    _send(
        user=user,
        template="security_notice",
        subject=subject,
        what=what,
        advice=advice.format(reset=f"{settings.PUBLIC_BASE_URL}/reset-password"),
        when=datetime.fromisoformat(when),
        ip=ip,
        device=device,
    )


def send_account_locked(*, user: User, locked_until: str, by_staff: bool, **where: str) -> None:
    until = datetime.fromisoformat(locked_until)
    reason = "by staff" if by_staff else "after several wrong passwords in a row"
    _notice(
        user=user,
        subject="Your Atrium account was locked",
        what=f"Your Atrium account was locked {reason}; signing in is blocked until "
        f"{until:%Y-%m-%d %H:%M} UTC.",
        advice="If the wrong passwords were not yours, someone is guessing: once you can sign "
        "in, choose a long password used nowhere else and turn on two-factor authentication. "
        "To get back in sooner, reset your password at {reset}. If staff locked it, ask them "
        "why.",
        **where,
    )


def send_new_device(*, user: User, **where: str) -> None:
    _notice(
        user=user,
        subject="New sign-in to your Atrium account",
        what="Your Atrium account was signed in to from a device and network it has not been "
        "used from in the last 30 days.",
        advice="If this was you, there is nothing to do. " + _NOT_YOU,
        **where,
    )


def send_two_factor_disabled(*, user: User, by_staff: bool, **where: str) -> None:
    who = "Staff turned off" if by_staff else "Someone signed in as you turned off"
    _notice(
        user=user,
        subject="Two-factor authentication was turned off",
        what=f"{who} two-factor authentication for your Atrium account: a password alone now "
        "signs in.",
        advice="Turn it back on in your security settings. " + _NOT_YOU,
        **where,
    )


def send_password_changed(*, user: User, via: str, **where: str) -> None:
    how = {"reset": "with a reset link", "staff": "by staff"}.get(via, "")
    _notice(
        user=user,
        subject="Your Atrium password was changed",
        what=f"The password of your Atrium account was changed{' ' + how if how else ''}; "
        "your other sessions were signed out.",
        advice=_NOT_YOU,
        **where,
    )


def send_api_key_created(*, user: User, name: str, prefix: str, **where: str) -> None:
    _notice(
        user=user,
        subject="A new API key was created on your Atrium account",
        what=f'An API key named "{name}" (starting {prefix}) was created on your Atrium '
        "account; programs holding it act as you.",
        advice="If you did not create it, revoke it in your API keys at once. " + _NOT_YOU,
        **where,
    )


# What ``queue_email`` may name: the kind of email → the function that sends it.
EMAILS: dict[str, Callable[..., None]] = {
    "verification": send_verification,
    "already_registered": send_already_registered,
    "password_reset": send_password_reset,
    "account_locked": send_account_locked,
    "new_device": send_new_device,
    "two_factor_disabled": send_two_factor_disabled,
    "password_changed": send_password_changed,
    "api_key_created": send_api_key_created,
}
