"""Hot statements compiled once for PostgreSQL, run through SQLAlchemy's public API.

A :class:`Statement` is a Core statement compiled once, at import, for PostgreSQL's asyncpg
dialect (building a statement and its cache key per call costs more than running it). On
PostgreSQL its SQL text runs with ``AsyncConnection.exec_driver_sql`` on the session's
connection, inside the session's transaction: SQLAlchemy begins that transaction, fires its
``before_cursor_execute`` and ``after_cursor_execute`` events, and the asyncpg dialect prepares
the text once per connection (its prepared statement cache). On SQLite it simply runs through
``session.execute``.

Parameters go to asyncpg as they are, so callers pass what asyncpg takes: ``int``, ``str``,
``Decimal``, timezone-aware ``datetime``, lists for arrays, and JSON already serialised to
``str``. Rows come back as sequences (index them by position: SQLAlchemy ``Row`` on both
databases).

What the PostgreSQL path does not do, unlike ``session.execute`` of the Core statement: it does
not autoflush pending ORM changes (use it before adding objects, or flush first), and it skips
column types' bind and result processors (``UTCDateTime`` does not refuse a naive datetime
there; JSON is not serialised). Errors are SQLAlchemy's (``IntegrityError`` …) with the driver's
error as ``orig`` (``orig.sqlstate``). Expanding ``IN`` parameters do not compile to plain SQL
text: give a ``pg=`` form with ``= ANY(array)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["Statement", "driver", "is_postgresql"]

_PG = asyncpg_dialect()

# TEMPORARY (issue 8 A/B measurement only): FASTSQL_AB=driver runs the statements on asyncpg
# directly, beneath SQLAlchemy, as before. Removed once measured.
_AB_DRIVER = os.environ.get("FASTSQL_AB") == "driver"


def is_postgresql(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


class Driver:
    """Runs PostgreSQL SQL text (``$1`` parameters) on a session's connection."""

    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        """Every row the statement returns (none when it returns no rows)."""
        if _AB_DRIVER:
            return await _ab_fetch(self._session, sql, args)
        conn = await self._session.connection()
        result = await conn.exec_driver_sql(sql, tuple(args))
        return list(result.all()) if result.returns_rows else []


async def driver(session: AsyncSession) -> Driver:
    """A runner of PostgreSQL SQL text on ``session``'s connection, in its transaction."""
    return Driver(session)


async def _ab_fetch(session: AsyncSession, sql: str, args: Sequence[Any]) -> list[Any]:
    # TEMPORARY, the pre-issue-8 path for the A/B: asyncpg beneath the session's transaction.
    transaction = session.sync_session.get_transaction()
    memo = session.info.get("hub.fastsql.ab")
    if memo is None or transaction is None or memo[0] is not transaction:
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        adapted = raw.dbapi_connection
        if adapted._transaction is None and not adapted.autocommit:  # noqa: SLF001 - A/B only
            await adapted._start_transaction()  # noqa: SLF001
        memo = session.info["hub.fastsql.ab"] = (
            session.sync_session.get_transaction(),
            raw.driver_connection,
            conn.sync_connection,
        )
    _, apg, sync = memo
    if sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, sql, args, None, False)
    rows: list[Any] = await apg.fetch(sql, *args)
    if sync.dispatch.after_cursor_execute:
        sync.dispatch.after_cursor_execute(sync, None, sql, args, None, False)
    return rows


class Statement:
    """A Core statement compiled once for PostgreSQL (``pg`` when that dialect needs another
    form, e.g. ``= ANY(array)`` for an expanding ``IN``); ``stmt`` runs everywhere else."""

    __slots__ = ("_defaults", "_names", "_rows", "_sql", "stmt")

    def __init__(self, stmt: Executable, pg: Executable | None = None) -> None:
        self.stmt = stmt
        compiled = (pg if pg is not None else stmt).compile(dialect=_PG)
        if "POSTCOMPILE" in str(compiled):
            raise ValueError("expanding parameters do not compile to plain SQL; pass pg= with = ANY()")
        self._sql = str(compiled)
        self._names = tuple(compiled.positiontup or ())
        # Values bound in the statement itself (literals such as ``0`` become parameters).
        self._defaults = {k: v for k, v in compiled.params.items() if v is not None}
        dml = compiled.isinsert or compiled.isupdate or compiled.isdelete
        self._rows = not dml or bool(compiled.effective_returning)  # DML without RETURNING: no rows

    async def all(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        """Every row, as a sequence indexed by position (none for a statement without rows)."""
        if is_postgresql(session):
            given, defaults = params, self._defaults
            args = [given[n] if n in given else defaults[n] for n in self._names]
            return await Driver(session).fetch(self._sql, args)
        result = await session.execute(self.stmt, params)
        return list(result.all()) if self._rows else []
