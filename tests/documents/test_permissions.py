"""Who may do what, endpoint by endpoint: the owner, a sharee at each level, a sharee whose
share has expired and a stranger. Documents a caller may not read are 404; documents they may
read but not change are 403."""

import pytest
from rest_framework.test import APIClient

from core.context import SYSTEM
from documents import services
from tests.factories import UserFactory

from .conftest import client_for, doc_url, if_match, member, share

pytestmark = pytest.mark.django_db

WHO = ["owner", "owner_share", "editor", "commenter", "viewer", "expired", "stranger"]
READERS = {"owner", "owner_share", "editor", "commenter", "viewer"}
EDITORS = {"owner", "owner_share", "editor"}
MANAGERS = {"owner", "owner_share"}


def _status(who: str, allowed: set[str], ok: int) -> int:
    if who in allowed:
        return ok
    return 403 if who in READERS else 404


@pytest.fixture
def cast(owner, document):
    """The document at version 2, a user for each role, and a third party's share to manage."""
    services.document_update(
        actor=owner, document_id=document.pk, expected_version=1, content="second", context=SYSTEM
    )
    people = {"owner": owner, "stranger": member("sam")}
    for level, name in [
        ("owner", "owner_share"),
        ("editor", "editor"),
        ("commenter", "commenter"),
        ("viewer", "viewer"),
    ]:
        people[name] = member(name.replace("_", ""))
        share(document, people[name], level)
    people["expired"] = member("expired")
    share(document, people["expired"], "editor", expired=True)
    people["third"] = member("third")
    share(document, people["third"], "viewer")
    return people


# (method, path after /documents/{id}, body, sends If-Match, who may, status when allowed)
ENDPOINTS = {
    "retrieve": ("get", "", None, False, READERS, 200),
    "patch": ("patch", "", {"content": "changed"}, True, EDITORS, 200),
    "put": ("put", "", {"title": "T", "content": "changed"}, True, EDITORS, 200),
    "delete": ("delete", "", None, True, MANAGERS, 204),
    "version list": ("get", "/versions", None, False, READERS, 200),
    "version read": ("get", "/versions/1", None, False, READERS, 200),
    "diff": ("get", "/versions/diff?from=1&to=2", None, False, READERS, 200),
    "version restore": ("post", "/versions/1/restore", {}, True, EDITORS, 200),
    "share list": ("get", "/shares", None, False, MANAGERS, 200),
    "share grant": (
        "post",
        "/shares",
        {"email": "third@example.com", "permission_level": "editor"},
        False,
        MANAGERS,
        200,
    ),
    "share change": (
        "patch",
        "/shares/{third}",
        {"permission_level": "editor"},
        False,
        MANAGERS,
        200,
    ),
    "share revoke": ("delete", "/shares/{third}", None, False, MANAGERS, 204),
}


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_answers_each_role(cast, document, who, endpoint):
    method, path, body, conditional, allowed, ok = ENDPOINTS[endpoint]
    url = doc_url(document, path.format(third=cast["third"].pk))
    headers = if_match(2) if conditional else {}

    response = getattr(client_for(cast[who]), method)(url, body, format="json", **headers)

    assert response.status_code == _status(who, allowed, ok), response.content


@pytest.mark.parametrize("who", WHO)
def test_restoring_from_the_trash_is_for_owners(cast, owner, document, who):
    services.document_delete(
        actor=owner, document_id=document.pk, expected_version=2, context=SYSTEM
    )

    response = client_for(cast[who]).post(doc_url(document, "/restore"))

    assert response.status_code == _status(who, MANAGERS, 200)


@pytest.mark.parametrize("who", WHO)
def test_lists_show_the_document_to_those_who_may_read_it(cast, document, who):
    api = client_for(cast[who])

    listed = api.get("/api/v1/documents").json()["results"]
    found = api.get("/api/v1/documents/search?q=quarterly").json()["results"]

    expected = [str(document.pk)] if who in READERS else []
    assert [d["id"] for d in listed] == expected
    assert [d["id"] for d in found] == expected


@pytest.mark.parametrize("who", WHO)
def test_the_trash_shows_the_document_to_its_owners(cast, owner, document, who):
    services.document_delete(
        actor=owner, document_id=document.pk, expected_version=2, context=SYSTEM
    )

    trash = client_for(cast[who]).get("/api/v1/documents/trash").json()["results"]

    assert [d["id"] for d in trash] == ([str(document.pk)] if who in MANAGERS else [])


def test_creating_needs_the_add_permission(db):
    nobody = UserFactory()

    response = client_for(nobody).post(
        "/api/v1/documents", {"title": "T", "content": ""}, format="json"
    )

    assert response.status_code == 403


def test_an_unknown_document_is_404_like_a_hidden_one(owner):
    response = client_for(owner).get("/api/v1/documents/00000000-0000-4000-8000-000000000000")

    assert response.status_code == 404


def test_anonymous_callers_are_401(document):
    assert APIClient().get(doc_url(document)).status_code == 401
