"""What the tests of the benchmark floors share: every floor sends Atrium's own SQL, imported
from the apps' ``sql.py``, and holds no SQL text of its own that no test keeps in step."""

import ast
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b")


def sql_text_in(floor: str) -> list[str]:
    """The string constants of ``bench/<floor>.py`` that read as SQL; docstrings, which may
    name a statement in prose, left out."""
    tree = ast.parse((BENCH / f"{floor}.py").read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and ast.get_docstring(node, clean=False) is not None
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and SQL_WORDS.search(node.value)
    ]
