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
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


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
