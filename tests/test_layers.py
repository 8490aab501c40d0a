"""Imports point down (STYLE.md, example 1). The rules live once, as import-linter contracts in
pyproject.toml ([tool.importlinter]): the domain imports no framework, driver or outer layer and
of the connectors only their contracts; the GraphQL schema and the webhook receiver import no job
code; jobs import no GraphQL or web code; connectors import nothing of the hub. Import-linter
follows indirect imports too, so a rule cannot be dodged through a module in between.

One rule is not about whom a module imports but what it does with it: jobs build no SQL.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        status = lint_imports(no_cache=True, no_logo=True)
    finally:
        os.chdir(cwd)
    report = capsys.readouterr().out
    assert "Contracts: 4 kept, 0 broken." in report, report
    assert status == 0


def test_jobs_build_no_sql() -> None:
    # jobs call domain functions; statements are built and run in hub/domain only (the session
    # type, for annotations, is all they take from SQLAlchemy)
    allowed = {"sqlalchemy.ext.asyncio"}
    bad = []
    for path in sorted((ROOT / "jobs").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy":
                names = [f"sqlalchemy.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            bad += [
                f"{path.relative_to(ROOT)} imports {n}"
                for n in names
                if n.split(".")[0] == "sqlalchemy" and n not in allowed
            ]
    assert bad == []
