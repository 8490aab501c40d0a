"""Migration 0007 with data, up and down, on a fresh database of each backend: the free-text
``customers.region`` becomes Region rows the customers point at, and comes back as text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import text

from hub.db import Database
from hub.migrations import alembic_config, upgrade
from hub.settings import Settings
from tests.conftest import PG_URL, _admin_pg_url, _pg_admin


@pytest.fixture
async def blank(backend: str, tmp_path) -> AsyncIterator[Settings]:  # type: ignore[no-untyped-def]
    """Settings for an empty database of ``backend`` (no migration run yet)."""
    if backend == "sqlite":
        yield Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}")
        return
    assert PG_URL is not None
    admin_url, name = _admin_pg_url(PG_URL)
    await _pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield Settings(database_url=f"{admin_url.rpartition('/')[0]}/{name}")
    finally:
        await _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    db = Database(settings)
    try:
        async with db.read() as s:
            return [tuple(r) for r in (await s.execute(text(sql))).all()]
    finally:
        await db.dispose()


async def _run(settings: Settings, sql: str) -> None:
    db = Database(settings)
    try:
        async with db.write() as s:
            await s.execute(text(sql))
    finally:
        await db.dispose()


async def test_customer_regions_migrate_to_region_rows_and_back(blank: Settings) -> None:
    # given a database at 0006 with customers whose regions are free text (one with spaces
    # around it, one in Chinese only, one in another case, one without), and a user of one
    await asyncio.to_thread(upgrade, blank, "0006")
    await _run(blank, "INSERT INTO customers (code, name, region, active, created_at) VALUES "
                      "('A', 'a', 'East China 华东', true, CURRENT_TIMESTAMP), "
                      "('B', 'b', ' East China 华东 ', true, CURRENT_TIMESTAMP), "
                      "('C', 'c', '华南', true, CURRENT_TIMESTAMP), "
                      "('D', 'd', NULL, true, CURRENT_TIMESTAMP), "
                      "('E', 'e', 'east china', true, CURRENT_TIMESTAMP)")  # fmt: skip
    await _run(blank, "INSERT INTO users (email, password_hash, roles, customer_id, active, created_at) "
                      "SELECT 'a@x.y', 'h', 'CUSTOMER', id, true, CURRENT_TIMESTAMP FROM customers WHERE code = 'A'")  # fmt: skip
    # when it is migrated to 0007
    await asyncio.to_thread(upgrade, blank, "0007")
    # then each distinct text is a region (code derived, name the text) and customers point at it
    regions = await _rows(blank, "SELECT code, name FROM regions ORDER BY code")
    assert regions == [
        ("EAST-CHINA", "East China 华东"),
        ("EAST-CHINA-2", "east china"),
        ("REGION-3", "华南"),
    ]
    joined = await _rows(blank, "SELECT c.code, r.name, c.active, c.sales_rep_id FROM customers c "
                                "LEFT JOIN regions r ON r.id = c.region_id ORDER BY c.code")  # fmt: skip
    assert [(c, n, bool(a), s) for c, n, a, s in joined] == [
        ("A", "East China 华东", True, None), ("B", "East China 华东", True, None), ("C", "华南", True, None),
        ("D", None, True, None), ("E", "east china", True, None),
    ]  # fmt: skip
    assert await _rows(blank, "SELECT count(*) FROM users WHERE customer_id IS NOT NULL") == [(1,)]
    moq = await _rows(blank, "SELECT count(*) FROM products WHERE min_order_quantity <> 1")
    assert moq == [(0,)]
    # and back down, the customers get their region names as text again
    await asyncio.to_thread(command.downgrade, alembic_config(blank), "0006")
    back = await _rows(blank, "SELECT code, region FROM customers ORDER BY code")
    assert back == [
        ("A", "East China 华东"),
        ("B", "East China 华东"),
        ("C", "华南"),
        ("D", None),
        ("E", "east china"),
    ]
    # and up again works
    await asyncio.to_thread(upgrade, blank, "head")
    assert len(await _rows(blank, "SELECT id FROM regions")) == 3
