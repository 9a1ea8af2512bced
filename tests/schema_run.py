"""What every property-based run over the OpenAPI schema shares: the schema, loaded once from
the app itself, the checks (no 5xx, and every status, media type and body as the schema
describes), Hypothesis settings, and the database connection kept open for the test."""

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig

# Calls that end the session the run signs its requests with, or never end (the event stream).
UNSAFE_TO_CALL = r"^/api/v1/(auth/logout|events/stream)$"

# What is set here deliberately, and why, is in docs/security.md ("Schemathesis").
CONFIG = SchemathesisConfig.from_dict(
    {
        "phases": {"coverage": {"enabled": False}},
        "generation": {"mode": "all", "allow-x00": False},
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2XX", "3XX", 400, 401, 403, 404, 409, 412, 422, 423, 429]
            }
        },
    }
)
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", get_wsgi_application(), config=CONFIG
).exclude(path_regex=UNSAFE_TO_CALL)

load_all_checks()
CHECKS = list(REGISTERED_CHECKS.get_all())


def examples(count: int):
    """Hypothesis settings for one run: ``count`` generated requests per operation."""
    return settings(
        max_examples=count,
        deadline=None,
        # A fixed seed: the suite sends the same requests every run, so a failure reproduces
        # and CI's budget stays what it was measured to be.
        derandomize=True,
        # The fixtures build one signed-in caller per test, not per example, on purpose.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def scenarios(count: int = 15, steps: int = 6):
    """Hypothesis settings for the stateful phase: ``count`` call sequences of at most
    ``steps`` calls each, the same ones every run."""
    return settings(
        max_examples=count,
        stateful_step_count=steps,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


def call_and_validate(case, headers: dict[str, str]) -> None:
    case.call_and_validate(headers=headers, checks=CHECKS)


@pytest.fixture
def wsgi_keeps_test_connection() -> Iterator[None]:
    """Django closes the connection around each WSGI request; the test's transaction lives on
    it, so hold it open as Django's own test client does."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)
