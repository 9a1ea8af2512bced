"""Schemathesis over the whole API, as a member and as staff, with every check it has
(tests/schema_run.py): each operation on its own (the examples, coverage and fuzzing
phases), then sequences of calls that follow the schema's links (the stateful phase: a
create's answer feeds the id of a read, change or delete)."""

import pytest
from django.core.cache import cache
from schemathesis.generation.stateful import run_state_machine_as_test

from tests.accounts.conftest import session_token_for
from tests.factories import StaffUserFactory, UserFactory, UserProfileFactory
from tests.schema_run import (
    CHECKS,
    call_and_validate,
    examples,
    scenarios,
    schema,
    wsgi_keeps_test_connection,
)

pytestmark = [
    pytest.mark.schemathesis,
    pytest.mark.usefixtures(wsgi_keeps_test_connection.__name__),
]


@pytest.fixture(autouse=True)
def _throttle_counts_stay_here():
    """The run signs in, registers and resets passwords many times from one address: those
    counts must not throttle the tests that follow."""
    yield
    cache.clear()


@pytest.fixture(params=["member", "staff"])
def caller_headers(request, synced_roles) -> dict[str, str]:
    if request.param == "member":
        caller = UserFactory(roles=["member"])
    else:
        caller = StaffUserFactory(roles=["admin"])
    UserProfileFactory(user=caller)
    return {"Authorization": f"Bearer {session_token_for(caller)}"}


@schema.parametrize()
@examples(5)
def test_every_operation_keeps_its_schema(case, caller_headers):
    call_and_validate(case, caller_headers)


def test_api_workflows_keep_the_schema(caller_headers):
    class Signed(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):
            return {"headers": caller_headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                checks=CHECKS,
                headers=caller_headers,
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    run_state_machine_as_test(Signed, settings=scenarios())
