"""Property-based run over the documents part of the OpenAPI schema: whatever Schemathesis
sends, the API answers without a 5xx and with a response the schema describes."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from documents import services
from tests.accounts.conftest import session_token_for
from tests.accounts.test_api_properties import _keep_the_test_connection  # noqa: F401

from .conftest import member, share

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def owner_headers(synced_roles) -> dict[str, str]:
    """An owner with a document of a few versions shared with someone, so generated ids and
    version numbers sometimes hit real rows."""
    owner = member("olivia")
    document = services.document_create(owner=owner, title="Plan", content="one")
    services.document_update(user=owner, document_id=document.pk, expected_version=1, content="two")
    share(document, member("sam"), "viewer")
    return {"Authorization": f"Bearer {session_token_for(owner)}"}


@schema.include(path_regex=r"^/api/v1/documents").parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_documents_api_keeps_its_schema(case, owner_headers):
    case.call_and_validate(
        headers=owner_headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
