"""Property-based run over the documents part of the OpenAPI schema: whatever Schemathesis
sends, the API answers without a 5xx and with a response the schema describes."""

import pytest

from core.context import SYSTEM
from documents import services
from tests.accounts.conftest import session_token_for
from tests.schema_run import call_and_validate, examples, schema, wsgi_keeps_test_connection

from .conftest import member, share

pytestmark = pytest.mark.usefixtures(wsgi_keeps_test_connection.__name__)


@pytest.fixture
def owner_headers(synced_roles) -> dict[str, str]:
    """An owner with a document of a few versions shared with someone, so generated ids and
    version numbers sometimes hit real rows."""
    owner = member("olivia")
    document = services.document_create(actor=owner, title="Plan", content="one", context=SYSTEM)
    services.document_update(
        actor=owner, document_id=document.pk, expected_version=1, content="two", context=SYSTEM
    )
    share(document, member("sam"), "viewer")
    return {"Authorization": f"Bearer {session_token_for(owner)}"}


@schema.include(path_regex=r"^/api/v1/documents").parametrize()
@examples(15)
def test_documents_api_keeps_its_schema(case, owner_headers):
    call_and_validate(case, owner_headers)
