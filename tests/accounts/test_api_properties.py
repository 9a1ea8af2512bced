"""Property-based run over the accounts part of the OpenAPI schema: whatever Schemathesis
sends, the API answers without a 5xx and with a response the schema describes."""

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

from tests.accounts.conftest import session_token_for
from tests.factories import UserFactory, UserProfileFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

# The trailing boundary keeps "me" from matching /api/v1/messages.
ACCOUNTS = r"^/api/v1/(auth|me|users|roles|permissions)(/|$)"


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django closes the connection around each WSGI request; the test's transaction lives
    on it, so hold it open as Django's own test client does."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def admin_headers(synced_roles) -> dict[str, str]:
    admin = UserFactory(roles=["admin"])
    UserProfileFactory(user=admin)
    return {"Authorization": f"Bearer {session_token_for(admin)}"}


# Logging out ends the session the run signs its requests with.
@schema.include(path_regex=ACCOUNTS).exclude(path="/api/v1/auth/logout").parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_accounts_api_keeps_its_schema(case, admin_headers):
    case.call_and_validate(
        headers=admin_headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
