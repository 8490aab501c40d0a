"""Imports point down (STYLE.md, example 1): the domain knows no web, job or driver code, and of
the connectors only their contracts (the frozen dataclasses and Protocols it builds documents
and reads reports with)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_DOMAIN = (
    "strawberry", "starlette", "uvicorn", "dramatiq", "zeep", "httpx", "redis",
    "hub.schema", "hub.app", "hub.cli", "hub.db", "hub.settings", "hub.bootstrap", "hub.hooks",
    "hub.integration", "jobs", "connectors",
)  # fmt: skip
# The connector contracts: the SDK module and each kind's package module (never a concrete
# connector such as connectors.erp.kingdee, nor connectors.http or connectors.config).
CONTRACTS_FOR_DOMAIN = ("connectors.sdk", "connectors.erp", "connectors.wms", "connectors.notify")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offenders(folder: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    bad = []
    paths = [ROOT / folder] if folder.endswith(".py") else sorted((ROOT / folder).rglob("*.py"))
    for path in paths:
        for name in _imports(path):
            if name in allowed:
                continue
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_the_domain_imports_no_outer_layer() -> None:
    assert _offenders("hub/domain", FORBIDDEN_IN_DOMAIN, CONTRACTS_FOR_DOMAIN) == []


def test_the_domain_may_import_connector_contracts_only() -> None:
    # the allowance above is exact: a concrete connector stays forbidden
    assert _offenders("hub/domain", ("connectors",), CONTRACTS_FOR_DOMAIN) == []
    assert "connectors.erp.kingdee" not in CONTRACTS_FOR_DOMAIN


def test_hooks_and_the_schema_import_no_jobs() -> None:
    assert _offenders("hub/hooks.py", ("jobs", "hub.bootstrap")) == []
    assert _offenders("hub/schema", ("jobs", "hub.bootstrap")) == []


def test_jobs_build_no_sql() -> None:
    # jobs call domain functions; statements are built and run in hub/domain only
    sql = ("sqlalchemy.sql", "sqlalchemy.dialects", "sqlalchemy.orm")
    bad = _offenders("jobs", sql)
    for path in sorted((ROOT / "jobs").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy":
                names = [a.name for a in node.names]
                bad.extend(f"{path.relative_to(ROOT)} imports sqlalchemy.{n}" for n in names)
    assert bad == []


def test_jobs_do_not_import_the_graphql_schema() -> None:
    assert _offenders("jobs", ("hub.schema", "strawberry", "starlette")) == []


def test_connectors_do_not_import_hub_internals() -> None:
    assert _offenders("connectors", ("hub.domain", "hub.schema", "hub.db", "jobs")) == []
