"""The emails accounts sends. Each is sent after the transaction that caused it commits."""

from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.template import Context, engines

from .models import User


def _send(*, user: User, template: str, subject: str, **context) -> None:
    # The bodies are plain text, not HTML: escaping would turn a link's "&" into "&amp;" and
    # break it (the values are ours: links, tokens, the address).
    text = engines["django"].engine.get_template(f"accounts/email/{template}.txt")  # type: ignore[attr-defined]
    body = text.render(Context({"user": user, **context}, autoescape=False))
    send_mail(subject, body, None, [user.email])


def _link(path: str, **params: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}?{urlencode(params)}"


def send_verification(*, user: User, token: str) -> None:
    _send(
        user=user,
        template="verify_email",
        subject="Confirm your Atrium email address",
        token=token,
        link=_link("/verify-email", token=token),
    )


def send_already_registered(*, user: User) -> None:
    _send(user=user, template="already_registered", subject="Someone tried to sign up as you")


def send_password_reset(*, user: User, uid: str, token: str) -> None:
    _send(
        user=user,
        template="password_reset",
        subject="Reset your Atrium password",
        uid=uid,
        token=token,
        link=_link("/reset-password", uid=uid, token=token),
    )
