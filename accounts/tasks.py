"""Accounts' jobs: sending its emails (accounts/emails.py)."""

from typing import Any

from django.utils import timezone

from core.context import ActionContext
from core.jobs import DEFAULT_RETRY, app

from . import devices, emails
from .models import User


@app.task(name="accounts.send_email", retry=DEFAULT_RETRY)
def send_email(*, kind: str, user_id: str, facts: dict[str, Any]) -> None:
    """Sends one email; an SMTP failure raises, and the job is retried with backoff. A worker
    that dies after sending but before recording it sends the email again: emails are at
    least once."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:  # the account is gone; there is nobody to tell
        return
    emails.EMAILS[kind](user=user, **facts)


def queue_email(kind: str, *, user: User, **facts: Any) -> None:
    """Enqueues the ``kind`` email (accounts.emails.EMAILS) to ``user`` in the caller's
    transaction; ``facts`` (plain JSON values) reach the sending function as keyword
    arguments."""
    if kind not in emails.EMAILS:
        raise ValueError(f"No such email: {kind!r}")
    send_email.defer(kind=kind, user_id=str(user.pk), facts=facts)


def queue_notice(kind: str, *, user: User, context: ActionContext, **details: Any) -> None:
    """Enqueues a security notice: ``details`` plus when and from where (the address and
    device of the action's context)."""
    queue_email(
        kind,
        user=user,
        when=timezone.now().isoformat(),
        ip=context.ip_address or "",
        device=devices.family(context.user_agent),
        **details,
    )
