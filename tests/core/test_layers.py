"""The action boundary, held by a test: transactions open only in services, and services and
selectors never see HTTP. (Which package may import which is held by `lint-imports`, run by
`make lint`.)"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "accounts", "chat", "documents", "billing", "webhooks", "config")


def _modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def _is_service_code(path: Path) -> bool:
    parts = path.relative_to(ROOT).with_suffix("").parts
    # <app>/scale.py are the bulk loaders behind `seed_*_scale`: write services of their own
    # (COPY, index rebuilds), called only by their command, owning their transactions.
    return "services" in parts or parts[-1] == "scale"


def _opens_transaction(tree: ast.AST) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "atomic"
        and isinstance(node.value, ast.Name)
        and node.value.id == "transaction"
    ]


def _imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if not _is_service_code(p)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_services_open_transactions(path):
    lines = _opens_transaction(ast.parse(path.read_text()))
    assert lines == [], (
        f"{path.relative_to(ROOT)} opens a transaction (lines {lines}): call a service"
    )


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in _modules()
        if {"services", "selectors"} & set(p.relative_to(ROOT).with_suffix("").parts)
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_services_and_selectors_know_no_http(path):
    http = {
        name
        for name in _imported_modules(ast.parse(path.read_text()))
        if name == "django.http" or name.startswith(("django.http.", "rest_framework"))
    }
    assert http == set(), f"{path.relative_to(ROOT)} imports {sorted(http)}"
