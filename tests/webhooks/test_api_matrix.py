"""Who may call the webhook endpoints API: the admin role (it holds
webhooks.manage_webhookendpoint); staff, members and a read-only key are refused; anonymous
callers must sign in."""

import pytest

from tests.api_matrix import Endpoint, Matrix, Scene, api_key, bearer
from tests.factories import StaffUserFactory, UserFactory
from tests.webhooks.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/webhook-endpoints"
MANAGERS = {"admin"}


def call(name: str, method: str, path: str, body=None, *, status: int = 200, **options) -> Endpoint:
    return Endpoint(
        name, method, BASE + path, body, ok=MANAGERS, status=status, others=403, **options
    )


MATRIX = Matrix(
    callers=("anonymous", "member", "staff", "admin", "read_key"),
    reader="admin",
    endpoints=[
        # The credential lookup, then the page.
        call("endpoint list", "get", "", queries=2),
        call("endpoint read", "get", "/{endpoint}"),
        call(
            "endpoint create",
            "post",
            "",
            {"url": "http://127.0.0.1:8119/hooks", "events": ["invoice.paid"]},
            status=201,
        ),
        call("endpoint change", "patch", "/{endpoint}", {"description": "Accounting"}),
        call("endpoint delete", "delete", "/{endpoint}", status=204),
        call("rotate secret", "post", "/{endpoint}/rotate-secret", {"overlap_hours": 1}),
        call("delivery log", "get", "/{endpoint}/deliveries", queries=3),
        call("resend", "post", "/{endpoint}/deliveries/{delivery}/resend", status=202),
    ],
)


@pytest.fixture
def scene(synced_roles) -> Scene:
    admin = StaffUserFactory(roles=["admin"])
    endpoint = WebhookEndpointFactory(owner=admin)
    return Scene(
        ids={
            "endpoint": str(endpoint.pk),
            "delivery": str(WebhookDeliveryFactory(endpoint=endpoint).pk),
        },
        credentials={
            "anonymous": None,
            "member": bearer(UserFactory(roles=["member"])),
            "staff": bearer(StaffUserFactory(roles=["staff"])),
            "admin": bearer(admin),
            "read_key": api_key(admin, ["webhooks.view_webhookendpoint"]),
        },
    )


def _more_rows(endpoint_id: str):
    def grow() -> None:
        for _ in range(2):
            WebhookEndpointFactory()
            WebhookDeliveryFactory(endpoint_id=endpoint_id)

    return grow


@pytest.mark.parametrize(("endpoint", "caller"), MATRIX.cases())
def test_permission_matrix(scene, endpoint, caller):
    MATRIX.check(scene, endpoint, caller)


@pytest.mark.parametrize("endpoint", MATRIX.lists())
def test_list_query_count_is_pinned_and_does_not_grow_with_rows(
    scene, endpoint, django_assert_num_queries
):
    MATRIX.check_queries(
        scene, endpoint, _more_rows(scene.ids["endpoint"]), django_assert_num_queries
    )
