"""Imports point down (STYLE.md, example 1): the domain knows no web, job or driver code."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_DOMAIN = (
    "strawberry", "starlette", "uvicorn", "dramatiq", "zeep", "httpx", "redis",
    "hub.schema", "hub.app", "hub.cli", "hub.db", "hub.settings", "jobs", "connectors",
)  # fmt: skip


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_the_domain_imports_no_outer_layer() -> None:
    assert _offenders("hub/domain", FORBIDDEN_IN_DOMAIN) == []


def test_jobs_do_not_import_the_graphql_schema() -> None:
    assert _offenders("jobs", ("hub.schema", "strawberry", "starlette")) == []


def test_connectors_do_not_import_hub_internals() -> None:
    assert _offenders("connectors", ("hub.domain", "hub.schema", "hub.db", "jobs")) == []
