"""Test fixtures: every database test runs on SQLite and, when ``HUB_TEST_DATABASE_URL`` is
set, again on PostgreSQL (a fresh database per run, created here and dropped at the end).

Given/when/then helpers for GraphQL live in :mod:`tests.support`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db import Database
from hub.domain.models import Base
from hub.migrations import upgrade
from hub.settings import Settings, async_database_url
from tests.support import Hub

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL") or None
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL") or None
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, scope="session")


def _admin_pg_url(url: str) -> tuple[str, str]:
    """(server URL on the maintenance db, name of the fresh test database)."""
    base, _, _db = url.rpartition("/")
    name = f"hub_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    return f"{base}/postgres", name


async def _pg_admin(admin_url: str, sql: str) -> None:
    engine = create_async_engine(async_database_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run. Fails (never skips) when
    HUB_TEST_DATABASE_URL is set but the server cannot be reached."""
    assert PG_URL is not None
    admin_url, name = _admin_pg_url(PG_URL)
    try:
        asyncio.run(_pg_admin(admin_url, f'CREATE DATABASE "{name}"'))
    except Exception as e:  # noqa: BLE001 - reported as a failure, with the cause
        pytest.fail(f"HUB_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}", pytrace=False)
    url = f"{admin_url.rpartition('/')[0]}/{name}"
    upgrade(Settings(database_url=url))
    yield url
    asyncio.run(_pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(Settings(database_url=f"sqlite:///{path}"))
    return path


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "hub.db"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_database")
    return Settings(
        database_url=url,
        secret_key="test-secret-key-0123456789-abcdefghijklmnop",
        redis_url=None,
        # Every request reads its user's row, so statement counts do not depend on the order
        # of tests; tests/schema/test_sessions.py covers the cache itself.
        user_cache_seconds=0,
    )


_TABLES = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture
async def db(settings: Settings, backend: str) -> AsyncIterator[Database]:
    database = Database(settings)
    if backend == "postgresql":
        async with database.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    yield database
    await database.dispose()


@pytest.fixture
async def hub(settings: Settings, db: Database) -> AsyncIterator[Hub]:
    """The real ASGI app over ``db``, with helpers to seed data and call GraphQL."""
    async with Hub.start(settings, db) as h:
        yield h
