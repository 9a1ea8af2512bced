"""Query counts of the list endpoints stay fixed however many rows a page holds, so an N+1
cannot creep back. Each count includes the two of authentication (the session with its user,
then the user's permissions)."""

import pytest

from core.context import SYSTEM
from documents import services

from .conftest import client_for, doc_url, member, share

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(owner):
    """Owned and shared documents, each a few versions deep."""
    other = member("sam")
    for number in range(6):
        mine = services.document_create(
            actor=owner, title=f"Plan {number}", content="plan", context=SYSTEM
        )
        theirs = services.document_create(
            actor=other, title=f"Their plan {number}", content="", context=SYSTEM
        )
        share(theirs, owner, "editor")
        for version in (1, 2):
            services.document_update(
                actor=owner,
                document_id=mine.pk,
                expected_version=version,
                content=f"v{version}",
                context=SYSTEM,
            )
    return mine


@pytest.mark.parametrize(
    ("path", "queries"),
    [
        ("/api/v1/documents", 2),
        ("/api/v1/documents?scope=shared&ordering=title", 2),
        ("/api/v1/documents/search?q=plan", 2),
        ("/api/v1/documents/trash", 2),
    ],
)
def test_document_lists_run_a_fixed_number_of_queries(
    owner, library, django_assert_num_queries, path, queries
):
    api = client_for(owner)

    with django_assert_num_queries(queries):
        response = api.get(path)

    assert response.status_code == 200


def test_the_version_list_runs_a_fixed_number_of_queries(owner, library, django_assert_num_queries):
    api = client_for(owner)

    with django_assert_num_queries(3):
        response = api.get(doc_url(library, "/versions"))

    assert [v["number"] for v in response.json()["results"]] == [3, 2, 1]


def test_the_share_list_runs_a_fixed_number_of_queries(owner, document, django_assert_num_queries):
    for name in ("a", "b", "c"):
        share(document, member(name), "viewer")
    api = client_for(owner)

    with django_assert_num_queries(3):
        response = api.get(doc_url(document, "/shares"))

    assert len(response.json()["results"]) == 3
