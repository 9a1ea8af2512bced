"""Every write operation the OpenAPI schema documents refuses an API key scoped to reading
(every ``view_`` permission there is), whoever owns it: writes need write permissions, for
roles and key scopes alike (docs/security.md). Walking the schema, not a list, means a new
write endpoint is held to this the day it appears."""

import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import Permission
from tests.api_matrix import api_key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch", "delete")
# Writes a read key may make, and why.
ALLOWED = {
    # Ends the session that signed the request; a key has none, so nothing changes (204).
    ("post", "/api/v1/auth/logout"),
    # A read mark records what its reader has seen: part of reading (chat/api/views.py).
    ("post", "/api/v1/conversations/{id}/read"),
}


# Path parameters that are numbers, not UUIDs (a UUID there would not even match the route).
NUMERIC_IDS = {"number", "delivery_id"}


def _write_operations() -> list:
    schema = SchemaGenerator().get_schema(public=True)
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            anonymous = {} in operation.get("security", [])
            if method in WRITES and not anonymous and (method, path) not in ALLOWED:
                operations.append(pytest.param(method, path, id=f"{method} {path}"))
    return operations


def _filled(path: str) -> str:
    """The path with ids nothing has: the permission is checked before any lookup."""
    filled = path
    while "{" in filled:
        start, end = filled.index("{"), filled.index("}")
        name = filled[start + 1 : end]
        value = "1" if name in NUMERIC_IDS else str(uuid.uuid4())
        filled = filled[:start] + value + filled[end + 1 :]
    return filled


@pytest.fixture
def read_only_key(synced_roles):
    api = APIClient()
    admin = UserFactory(roles=["admin"])
    scopes = Permission.objects.filter(name__contains=".view_").values_list("name", flat=True)
    api.credentials(HTTP_AUTHORIZATION=api_key(admin, scopes))
    return api


@pytest.mark.parametrize(("method", "path"), _write_operations())
def test_every_write_refuses_a_read_only_key(read_only_key, method, path):
    response = getattr(read_only_key, method)(_filled(path), {}, format="json")

    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
