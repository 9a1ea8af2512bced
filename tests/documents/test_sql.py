"""documents/sql.py's copies of what the ORM compiles are the statements the API sends, so the
benchmark floor (bench/floor_documents.py) keeps sending Atrium's SQL when the selectors
change."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from documents import sql

from .conftest import client_for

pytestmark = pytest.mark.django_db

PAGE = 50  # the default page size; the page asks for one more row to know if there is a next


def _sent(owner, path: str) -> str:
    """The statement that reads the page (the one selecting from documents)."""
    with CaptureQueriesContext(connection) as queries:
        response = client_for(owner).get(path)
    assert response.status_code == 200
    (statement,) = [q["sql"] for q in queries if 'FROM "documents"' in q["sql"]]
    return statement


def test_the_list_s_first_page_is_the_floor_s_statement(owner, document):
    expected = connection.ops.compose_sql(
        sql.DOCUMENT_LIST_JSON_PAGE, [owner.pk] * 4 + [PAGE + 1, PAGE]
    )

    assert _sent(owner, "/api/v1/documents") == expected


def test_the_search_s_first_page_is_the_floor_s_statement(owner, document):
    terms = "quarterly plan"
    expected = connection.ops.compose_sql(
        sql.DOCUMENT_SEARCH_JSON_PAGE, [terms, *[owner.pk] * 4, terms, PAGE + 1, PAGE]
    )

    assert _sent(owner, "/api/v1/documents/search?q=quarterly+plan") == expected
