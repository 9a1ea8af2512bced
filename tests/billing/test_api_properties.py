"""Property-based run over the billing part of the OpenAPI schema: whatever Schemathesis
sends, the API answers without a 5xx and with a response the schema describes."""

import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# The same connection handling as the accounts run (an autouse fixture, used by importing it).
from tests.accounts.test_api_properties import _keep_the_test_connection  # noqa: F401
from tests.billing.conftest import client_for

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.include(path_regex=r"^/api/v1/billing/").parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_billing_api_keeps_its_schema(case, manager):
    token = client_for(manager)._credentials["HTTP_AUTHORIZATION"]
    case.call_and_validate(
        headers={"Authorization": token},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
