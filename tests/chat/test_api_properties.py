"""Property-based run over the chat part of the OpenAPI schema: whatever Schemathesis sends,
the API answers without a 5xx and with a response the schema describes."""

import pytest

from chat.services import messages
from core.context import SYSTEM
from tests.accounts.conftest import session_token_for
from tests.schema_run import call_and_validate, examples, schema, wsgi_keeps_test_connection

pytestmark = pytest.mark.usefixtures(wsgi_keeps_test_connection.__name__)


@pytest.fixture
def member_headers(room) -> dict[str, str]:
    # Through the service: Django's test client would reconnect the signals put aside above.
    messages.message_post(
        conversation_id=room.id, sender=room.member, content="launch checklist", context=SYSTEM
    )
    token = session_token_for(room.member)
    return {"Authorization": f"Bearer {token}"}


@schema.include(path_regex=r"^/api/v1/(conversations|messages)").parametrize()
@examples(25)
def test_chat_api_keeps_its_schema(case, member_headers):
    call_and_validate(case, member_headers)
