"""The migrated database keeps the table contract of docs/contract/schema.sql: the contract is
loaded into a scratch schema and compared with what the migrations built, table by table and
column by column."""

from pathlib import Path

import pytest
from django.db import connection

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract" / "schema.sql"
CONTRACT_SCHEMA = "contract"

COLUMNS_SQL = """
    SELECT table_name, column_name, data_type, character_maximum_length,
           numeric_precision, numeric_scale, is_nullable, column_default
    FROM information_schema.columns
    WHERE table_schema = %s AND table_name = ANY(%s)
    ORDER BY table_name, ordinal_position
"""

# One row per key or unique constraint: (table, kind, columns, referenced table).
KEYS_SQL = """
    SELECT tc.table_name, tc.constraint_type,
           string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position),
           coalesce(max(ccu.table_name), '')
    FROM information_schema.table_constraints tc
    JOIN information_schema.key_column_usage kcu
      ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
    LEFT JOIN information_schema.constraint_column_usage ccu
      ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
     AND tc.constraint_type = 'FOREIGN KEY'
    WHERE tc.table_schema = %s AND tc.table_name = ANY(%s)
      AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
    GROUP BY tc.table_name, tc.constraint_type, tc.constraint_name
"""


@pytest.fixture
def contract_tables(db) -> list[str]:
    """Loads the contract into its own schema (rolled back with the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {CONTRACT_SCHEMA}")
        cursor.execute(f"SET LOCAL search_path TO {CONTRACT_SCHEMA}, public")
        cursor.execute(CONTRACT.read_text())
        cursor.execute("SET LOCAL search_path TO public")
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [CONTRACT_SCHEMA],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _rows(sql: str, schema: str, tables: list[str]) -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [schema, tables])
        return set(cursor.fetchall())


def test_contract_defines_the_eighteen_tables(contract_tables):
    assert len(contract_tables) == 18


def test_every_contract_column_exists_with_its_type_nullability_and_default(contract_tables):
    expected = _rows(COLUMNS_SQL, CONTRACT_SCHEMA, contract_tables)
    actual = _rows(COLUMNS_SQL, "public", contract_tables)

    assert expected - actual == set()


def test_columns_beyond_the_contract_are_nullable_or_have_a_database_default(contract_tables):
    """A plain-SQL writer that knows only the contract can still insert rows."""
    contract_columns = {row[:2] for row in _rows(COLUMNS_SQL, CONTRACT_SCHEMA, contract_tables)}
    added = [
        row
        for row in _rows(COLUMNS_SQL, "public", contract_tables)
        if row[:2] not in contract_columns
    ]

    assert [row[:2] for row in added if row[6] == "NO" and row[7] is None] == []


def test_every_contract_key_unique_and_foreign_key_exists(contract_tables):
    expected = _rows(KEYS_SQL, CONTRACT_SCHEMA, contract_tables)
    actual = _rows(KEYS_SQL, "public", contract_tables)

    assert expected - actual == set()


def test_every_foreign_key_column_leads_an_index(db):
    """Joins and cascades on any foreign key never scan the referencing table."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
              AND NOT EXISTS (
                  SELECT 1 FROM pg_index i
                  WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1]
              )
            """
        )
        unindexed = cursor.fetchall()

    assert unindexed == []
