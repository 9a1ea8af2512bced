"""Property-based run over the accounts part of the OpenAPI schema: whatever Schemathesis
sends, the API answers without a 5xx and with a response the schema describes."""

import pytest

from tests.accounts.conftest import session_token_for
from tests.factories import UserFactory, UserProfileFactory
from tests.schema_run import call_and_validate, examples, schema, wsgi_keeps_test_connection

pytestmark = pytest.mark.usefixtures(wsgi_keeps_test_connection.__name__)

# The trailing boundary keeps "me" from matching /api/v1/messages.
ACCOUNTS = r"^/api/v1/(auth|me|users|roles|permissions)(/|$)"


@pytest.fixture
def admin_headers(synced_roles) -> dict[str, str]:
    admin = UserFactory(roles=["admin"])
    UserProfileFactory(user=admin)
    return {"Authorization": f"Bearer {session_token_for(admin)}"}


# Logging out ends the session the run signs its requests with.
@schema.include(path_regex=ACCOUNTS).exclude(path="/api/v1/auth/logout").parametrize()
@examples(30)
def test_accounts_api_keeps_its_schema(case, admin_headers):
    call_and_validate(case, admin_headers)
