"""Property-based run over the chat part of the OpenAPI schema: whatever Schemathesis sends,
the API answers without a 5xx and with a response the schema describes."""

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

from accounts import services as accounts_services
from chat import services as chat_services

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


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
def member_headers(room) -> dict[str, str]:
    # Through the service: Django's test client would reconnect the signals put aside above.
    chat_services.message_post(
        conversation_id=room.id, sender=room.member, content="launch checklist"
    )
    _, token = accounts_services.session_create(user=room.member)
    return {"Authorization": f"Bearer {token}"}


@schema.include(path_regex=r"^/api/v1/(conversations|messages)").parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_chat_api_keeps_its_schema(case, member_headers):
    case.call_and_validate(
        headers=member_headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
