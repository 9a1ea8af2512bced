"""Who may read the audit trail through the API (GET /api/v1/audit-events), what each reader
sees, and what a page costs: staff (the audit's view permission) every event, billing
managers the events of billing rows, members and keys without a view permission nothing."""

import pytest
from django.utils import timezone

from core.models import AuditAction, AuditEvent
from tests.api_matrix import Endpoint, Matrix, Scene, api_key, bearer
from tests.factories import AuditEventFactory, CustomerFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

PATH = "/api/v1/audit-events"

MATRIX = Matrix(
    callers=("anonymous", "member", "staff", "billing_manager", "read_key", "no_view_key"),
    reader="staff",
    endpoints=[
        # The credential lookup (which brings the permissions), then the page with its actors.
        Endpoint(
            "audit event list",
            "get",
            PATH,
            ok={"staff", "billing_manager", "read_key"},
            others=403,
            queries=2,
        ),
        Endpoint(
            "audit events of one action since a time",
            "get",
            PATH + "?action=customer.created&since=2020-01-01T00:00:00Z",
            ok={"staff", "billing_manager", "read_key"},
            others=403,
        ),
    ],
)


@pytest.fixture
def scene(synced_roles) -> Scene:
    staff = StaffUserFactory(roles=["staff"])
    return Scene(
        ids={},
        credentials={
            "anonymous": None,
            "member": bearer(UserFactory(roles=["member"])),
            "staff": bearer(staff),
            "billing_manager": bearer(StaffUserFactory(roles=["billing_manager"])),
            "read_key": api_key(staff, ["core.view_auditevent"]),
            "no_view_key": api_key(staff, ["accounts.change_user"]),
        },
    )


def _more_events() -> None:
    actor = UserFactory()
    for _ in range(2):
        AuditEventFactory(actor=actor)


@pytest.mark.parametrize(("endpoint", "caller"), MATRIX.cases())
def test_permission_matrix(scene, endpoint, caller):
    MATRIX.check(scene, endpoint, caller)


@pytest.mark.parametrize("endpoint", MATRIX.lists())
def test_list_query_count_is_pinned_and_does_not_grow_with_rows(
    scene, endpoint, django_assert_num_queries
):
    MATRIX.check_queries(scene, endpoint, _more_events, django_assert_num_queries)


def test_billing_managers_read_billing_events_only_and_filters_narrow(scene):
    customer = CustomerFactory()
    AuditEvent.objects.create(
        action=AuditAction.CUSTOMER_CREATED,
        target_type="billing.customer",
        target_id=str(customer.pk),
    )
    AuditEvent.objects.create(action=AuditAction.USER_CREATED, target_type="accounts.user")
    manager, staff = scene.client("billing_manager"), scene.client("staff")

    seen = [event["action"] for event in manager.get(PATH).json()["results"]]
    everything = [event["action"] for event in staff.get(PATH).json()["results"]]
    narrowed = staff.get(
        PATH, {"target_type": "billing.customer", "until": timezone.now().isoformat()}
    )

    assert seen == [AuditAction.CUSTOMER_CREATED]
    assert set(everything) >= {AuditAction.CUSTOMER_CREATED, AuditAction.USER_CREATED}
    assert [event["target_id"] for event in narrowed.json()["results"]] == [str(customer.pk)]


def test_a_bad_filter_is_a_400_naming_it(scene):
    response = scene.client("staff").get(PATH, {"since": "yesterday"})

    assert response.status_code == 400
    assert "since" in str(response.json())
