"""Hot statements compiled once for PostgreSQL, run beneath SQLAlchemy's per-statement layer
when the session offers a runner for it, through SQLAlchemy's public API otherwise.

Building a Core statement and its cache key on every call costs more than running it, so a
:class:`Statement` is compiled once, at import, for PostgreSQL's asyncpg dialect. On PostgreSQL
its SQL text, and any hand-written PostgreSQL text given to :func:`driver`, runs in one of two
ways, both inside the session's transaction and both firing SQLAlchemy's
``before_cursor_execute`` and ``after_cursor_execute`` events (so statement counts and any
other listener see every statement):

* through the :class:`SqlRunner` found in ``session.info[SQL_RUNNER]``. The hub's
  ``Database`` puts one there for PostgreSQL sessions (``hub.db.fastpath``: asyncpg directly;
  the public path below costs 11–22 % more CPU per ``orderCreate``, see docs/benchmarks.md,
  "Fast SQL path: public API vs driver (issue 8)"). The domain never imports it: this key is
  the seam;
* otherwise with ``AsyncConnection.exec_driver_sql`` on the session's connection (the asyncpg
  dialect prepares each text once per connection).

On SQLite a ``Statement`` simply runs its Core statement through ``session.execute``.

Parameters go to asyncpg as they are, so callers pass what asyncpg takes: ``int``, ``str``,
``Decimal``, timezone-aware ``datetime``, lists for arrays, and JSON already serialised to
``str``. Rows come back as sequences: index them by position.

What the PostgreSQL path does not do, unlike ``session.execute`` of a Core statement: it does
not autoflush pending ORM changes (use it before adding objects, or flush first), and it skips
the column types' bind and result processors (``UTCDateTime`` does not refuse a naive datetime
there; JSON is not serialised). A statement the database refuses raises SQLAlchemy's
``IntegrityError`` or another ``DBAPIError`` whose ``orig`` carries PostgreSQL's code in
``sqlstate``. Expanding ``IN`` parameters do not compile to plain SQL text: give a ``pg=`` form
with ``= ANY(array)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Executable
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["SQL_RUNNER", "Driver", "SqlRunner", "Statement", "driver", "is_postgresql"]

SQL_RUNNER = "hub.sql_runner"
"""The ``session.info`` key of the session's :class:`SqlRunner`, if it has one."""

_PG = asyncpg_dialect()  # type: ignore[no-untyped-call]


class SqlRunner(Protocol):
    """Runs PostgreSQL SQL text in a session's transaction, firing SQLAlchemy's before and
    after cursor events; refusals raise SQLAlchemy's ``DBAPIError`` family."""

    async def fetch(self, session: AsyncSession, sql: str, args: Sequence[Any]) -> list[Any]:
        """Every row the statement returns, each indexable by position (none without rows)."""
        ...


def is_postgresql(session: AsyncSession) -> bool:
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


async def _fetch(session: AsyncSession, sql: str, args: Sequence[Any]) -> list[Any]:
    runner: SqlRunner | None = session.info.get(SQL_RUNNER)
    if runner is not None:
        return await runner.fetch(session, sql, args)
    conn = await session.connection()
    result = await conn.exec_driver_sql(sql, tuple(args))
    return list(result.all()) if result.returns_rows else []


class Driver:
    """Runs PostgreSQL SQL text (``$1`` parameters) in a session's transaction."""

    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        """Every row the statement returns (none for a statement without rows).

        Raises:
            sqlalchemy.exc.DBAPIError: the database refused it (``orig.sqlstate`` says why).
        """
        return await _fetch(self._session, sql, args)


async def driver(session: AsyncSession) -> Driver:
    """A runner of PostgreSQL SQL text in ``session``'s transaction (PostgreSQL only)."""
    return Driver(session)


def _compile(stmt: Executable) -> SQLCompiler:
    compiled = stmt.compile(dialect=_PG) if isinstance(stmt, ClauseElement) else None
    if not isinstance(compiled, SQLCompiler):
        raise TypeError(f"not a Core statement: {stmt!r}")
    return compiled


class Statement:
    """A Core statement compiled once for PostgreSQL (``pg`` when that dialect needs another
    form, e.g. ``= ANY(array)`` for an expanding ``IN``); ``stmt`` runs everywhere else."""

    __slots__ = ("_defaults", "_names", "_rows", "_sql", "stmt")

    def __init__(self, stmt: Executable, pg: Executable | None = None) -> None:
        self.stmt = stmt
        compiled = _compile(pg if pg is not None else stmt)
        if "POSTCOMPILE" in str(compiled):
            raise ValueError("expanding parameters do not compile to plain SQL; pass pg= with = ANY()")
        self._sql = str(compiled)
        self._names = tuple(compiled.positiontup or ())
        # Values bound in the statement itself (literals such as ``0`` become parameters).
        self._defaults = {k: v for k, v in compiled.params.items() if v is not None}
        dml = compiled.isinsert or compiled.isupdate or compiled.isdelete
        self._rows = not dml or bool(compiled.effective_returning)  # DML without RETURNING: no rows

    async def all(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        """Every row, as a sequence indexed by position (none for a statement without rows).

        Raises:
            sqlalchemy.exc.DBAPIError: the database refused it.
        """
        if is_postgresql(session):
            given, defaults = params, self._defaults
            args = [given[n] if n in given else defaults[n] for n in self._names]
            return await _fetch(session, self._sql, args)
        result = await session.execute(self.stmt, params)
        return list(result.all()) if self._rows else []
