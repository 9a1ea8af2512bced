"""The documents benchmark's floor measures Atrium's own SQL: every statement it sends comes
from documents/sql.py (and core/sql.py for the outbox row), none is a copy of its own."""

from tests.floors import sql_text_in


def test_the_floor_holds_no_sql_text_of_its_own():
    assert sql_text_in("floor_documents") == []
