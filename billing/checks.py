"""Billing's system checks: configuration it can tell is wrong before it serves a request."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from . import reminders


@register()
def reminder_steps(**kwargs: Any) -> list[CheckMessage]:
    return [
        Error(problem, id="billing.E001", hint="For example: BILLING_REMINDER_STEPS=-3,0,7,14,30")
        for problem in reminders.step_problems(settings.BILLING_REMINDER_STEPS)
    ]
