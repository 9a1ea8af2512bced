"""The reminder policy, BILLING_REMINDER_STEPS: days from an invoice's due date (negative
before it) on which an open invoice is reminded of, one email per step
(docs/billing-documents.md). Checked at start (billing/checks.py), so the services read it
already known to be good."""

from django.conf import settings

# A year either side: a step beyond that is a typo, not a policy.
STEP_LIMIT = 365


def step_problems(raw: object) -> list[str]:
    """What is wrong with ``raw`` as a policy: a list of whole numbers of days (ints, or the
    strings the environment gives), each at most STEP_LIMIT from the due date, none twice."""
    if not isinstance(raw, list | tuple):
        return [f"BILLING_REMINDER_STEPS must be a list of days, not {type(raw).__name__}."]
    problems, seen = [], set()
    for item in raw:
        try:
            step = int(str(item).strip())
        except ValueError:
            problems.append(f"BILLING_REMINDER_STEPS: {item!r} is not a whole number of days.")
            continue
        if abs(step) > STEP_LIMIT:
            problems.append(
                f"BILLING_REMINDER_STEPS: {step} is more than {STEP_LIMIT} days from the due date."
            )
        elif step in seen:
            problems.append(f"BILLING_REMINDER_STEPS: {step} is given twice.")
        seen.add(step)
    return problems


def steps() -> tuple[int, ...]:
    """The policy's steps, earliest first; empty when reminders are off."""
    return tuple(sorted(int(str(item).strip()) for item in settings.BILLING_REMINDER_STEPS))
