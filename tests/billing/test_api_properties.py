"""Property-based run over the billing part of the OpenAPI schema: whatever Schemathesis
sends, the API answers without a 5xx and with a response the schema describes."""

import pytest

from tests.billing.conftest import client_for
from tests.schema_run import call_and_validate, examples, schema, wsgi_keeps_test_connection

pytestmark = pytest.mark.usefixtures(wsgi_keeps_test_connection.__name__)


@schema.include(path_regex=r"^/api/v1/billing/").parametrize()
@examples(20)
def test_billing_api_keeps_its_schema(case, manager):
    token = client_for(manager)._credentials["HTTP_AUTHORIZATION"]
    call_and_validate(case, {"Authorization": token})
