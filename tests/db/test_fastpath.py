"""The driver path (hub.db.fastpath) behind the seam hub.domain.fastsql.SQL_RUNNER: hot
statements run inside the session's transaction, on PostgreSQL's driver or through SQLAlchemy's
public API, with the same results, events and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, insert, select
from sqlalchemy.exc import IntegrityError

from hub.db import Database
from hub.db.fastpath import DriverRunner
from hub.domain.fastsql import SQL_RUNNER, Statement, driver, is_postgresql
from hub.domain.inventory.models import Warehouse
from hub.settings import Settings

_W = Warehouse.__table__
ADD = Statement(
    insert(_W).values(code=bindparam("code"), name=bindparam("name"), priority=10).returning(_W.c.id)
)
BY_CODE = Statement(select(_W.c.id, _W.c.code, _W.c.priority).where(_W.c.code == bindparam("code")))
COUNT = select(func.count()).select_from(_W)


@pytest.fixture(params=["driver", "public"])
async def path_db(
    request: pytest.FixtureRequest, db: Database, settings: Settings
) -> AsyncIterator[Database]:
    """The test database with the driver path (PostgreSQL only) or without it."""
    if request.param == "driver":
        if db.is_sqlite:
            pytest.skip("the driver path is PostgreSQL's")
        yield db
        return
    other = Database(settings, driver_path=False)
    yield other
    await other.dispose()


async def _count(db: Database) -> int:
    async with db.read() as s:
        return int(await s.scalar(COUNT) or 0)


class _Boom(Exception):
    pass


async def test_postgresql_sessions_carry_the_runner(db: Database, settings: Settings) -> None:
    # given the hub's Database, and one without the driver path
    plain = Database(settings, driver_path=False)
    try:
        for database, expected in ((db, not db.is_sqlite), (plain, False)):
            async with database.read() as r, database.write() as w:
                # then PostgreSQL sessions carry a runner, each in its own info dict
                assert (SQL_RUNNER in r.info, SQL_RUNNER in w.info) == (expected, expected)
                if expected:
                    assert isinstance(r.info[SQL_RUNNER], DriverRunner)
                    r.info["mine"] = 1
                    assert "mine" not in w.info
    finally:
        await plain.dispose()


async def test_statements_run_in_the_sessions_transaction(path_db: Database) -> None:
    db = path_db
    # given a write transaction that adds a warehouse through a Statement and then fails
    with pytest.raises(_Boom):
        async with db.write() as s:
            [(wid,)] = await ADD.all(s, {"code": "W1", "name": "One"})
            # then the same transaction reads it back, through a Statement and through the ORM
            assert [tuple(r) for r in await BY_CODE.all(s, {"code": "W1"})] == [(wid, "W1", 10)]
            assert await s.scalar(COUNT) == 1
            raise _Boom
    # and the rollback undid it
    assert await _count(db) == 0
    # when the same runs and commits, it stays
    async with db.write() as s:
        await ADD.all(s, {"code": "W1", "name": "One"})
    assert await _count(db) == 1


async def test_sql_text_runs_in_the_sessions_transaction_begun_before_it(path_db: Database) -> None:
    db = path_db
    if db.is_sqlite:
        pytest.skip("driver() runs PostgreSQL text")
    # given a write transaction whose first statement is hand-written SQL
    with pytest.raises(_Boom):
        async with db.write() as s:
            assert is_postgresql(s)
            sql = await driver(s)
            await sql.fetch(
                "INSERT INTO warehouses (code, name, priority) VALUES ($1, $2, $3)", ["W8", "Eight", 8]
            )
            # then the ORM in the same transaction sees its write, and it sees the ORM's
            s.add(Warehouse(code="W9", name="Nine", priority=5))
            await s.flush()
            assert await s.scalar(COUNT) == 2
            rows = await sql.fetch("SELECT code, priority FROM warehouses ORDER BY code", [])
            assert [tuple(r) for r in rows] == [("W8", 8), ("W9", 5)]
            assert await sql.fetch("UPDATE warehouses SET priority = $1", [7]) == []
            raise _Boom
    # and the rollback undid all of it: the statement did not run in autocommit
    assert await _count(db) == 0


async def test_a_read_session_stays_in_autocommit(path_db: Database) -> None:
    db = path_db
    if db.is_sqlite:
        pytest.skip("PostgreSQL reads run in autocommit")
    # given a read session (autocommit on PostgreSQL) that writes, which the hub never does
    async with db.read() as s:
        await ADD.all(s, {"code": "W1", "name": "One"})
    # then the write stands although nothing was committed: no transaction was begun for it
    assert await _count(db) == 1


async def test_refusals_raise_sqlalchemys_errors(path_db: Database) -> None:
    db = path_db
    # given a warehouse
    async with db.write() as s:
        await ADD.all(s, {"code": "W1", "name": "One"})
    # when another with the same code is added, then SQLAlchemy's IntegrityError says why
    with pytest.raises(IntegrityError) as info:
        async with db.write() as s:
            await ADD.all(s, {"code": "W1", "name": "Again"})
    if not db.is_sqlite:
        assert info.value.orig.sqlstate == "23505"  # type: ignore[union-attr]
        assert "uq_warehouses_code" in str(info.value.orig)
    # and the transaction rolled back, the session's connection still usable
    assert await _count(db) == 1
    async with db.write() as s:
        await ADD.all(s, {"code": "W2", "name": "Two"})
    assert await _count(db) == 2


async def test_both_cursor_events_fire_for_every_statement(path_db: Database) -> None:
    db = path_db
    seen: list[tuple[str, str]] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(("before", statement))

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(("after", statement))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        # when a Statement runs in a write session and another in a read session
        async with db.write() as s:
            await ADD.all(s, {"code": "W1", "name": "One"})
        async with db.read() as s:
            assert len(await BY_CODE.all(s, {"code": "W1"})) == 1
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    # then each statement was reported before and after it ran, in that order
    statements = [text for when, text in seen if when == "before"]
    assert [when for when, _ in seen] == ["before", "after"] * len(statements)
    assert [text for when, text in seen if when == "after"] == statements
    assert sum("INSERT INTO warehouses" in t for t in statements) == 1
    assert sum(t.startswith("SELECT warehouses.id") for t in statements) == 1
