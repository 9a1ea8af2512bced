"""The chat benchmark's floor measures Atrium's own SQL: every statement it sends comes from
chat/sql.py, none is a copy of its own."""

import ast
import re
from pathlib import Path

FLOOR = Path(__file__).resolve().parents[2] / "bench" / "floor_chat.py"
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b")


def test_the_floor_holds_no_sql_text_of_its_own():
    tree = ast.parse(FLOOR.read_text())
    texts = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]

    assert [text for text in texts if SQL_WORDS.search(text)] == []
