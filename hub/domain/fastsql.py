"""Hot statements run on PostgreSQL's driver connection, beneath the session's transaction.

SQLAlchemy's per-statement work in Python (cache key, parameter processing, result set-up,
greenlet hops) costs about three times what asyncpg itself spends on a round trip, and the hot
write path (``orderCreate``) runs several statements per request. A :class:`Statement` is a Core
statement compiled once for PostgreSQL; on PostgreSQL it runs through asyncpg directly, inside
the transaction the session has begun, and is reported to SQLAlchemy's
``before_cursor_execute`` listeners so statement counts stay honest. On SQLite it simply runs
through the session.

Parameters go to asyncpg as they are, so callers pass what asyncpg takes: ``int``, ``str``,
``Decimal``, timezone-aware ``datetime``, lists for arrays, and JSON already serialised to
``str``. Rows come back as sequences (index them by position: asyncpg ``Record`` on PostgreSQL,
SQLAlchemy ``Row`` on SQLite).

What the PostgreSQL path does not do, unlike ``session.execute``: it does not autoflush pending
ORM changes (use it before adding objects, or flush first), it skips column types' bind
processors (``UTCDateTime`` does not refuse a naive datetime there; JSON is not serialised), and
errors arrive as asyncpg exceptions, not SQLAlchemy's ``IntegrityError``/``DBAPIError`` (match
on ``sqlstate`` instead, as ``orders.placement._place_pg`` does). Expanding ``IN`` parameters do
not compile for it: give a ``pg=`` form with ``= ANY(array)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["Statement", "driver", "is_postgresql"]

_PG = asyncpg_dialect()


def is_postgresql(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


class Driver:
    """The asyncpg connection of a session, in the session's transaction."""

    __slots__ = ("_apg", "_sync")

    def __init__(self, apg: Any, sync_connection: Any) -> None:
        self._apg = apg
        self._sync = sync_connection

    def _report(self, sql: str, params: Any, many: bool) -> None:
        dispatch = self._sync.dispatch.before_cursor_execute
        if dispatch:  # listeners only (tests count statements); nothing to do otherwise
            dispatch(self._sync, None, sql, params, None, many)

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        self._report(sql, args, False)
        return await self._apg.fetch(sql, *args)  # type: ignore[no-any-return]


async def driver(session: AsyncSession) -> Driver:
    """The driver connection beneath ``session`` (PostgreSQL only), its transaction begun.

    SQLAlchemy's asyncpg adapter begins its transaction lazily, at the first statement it runs;
    a statement sent to asyncpg first would run outside it (and in autocommit). So the adapter's
    own transaction start is called here when it has not happened yet; every PostgreSQL order
    test exercises this against the pinned SQLAlchemy release.

    The driver is remembered for the session's current transaction (its connection belongs to
    that transaction and goes back to the pool when it ends).
    """
    transaction = session.sync_session.get_transaction()
    memo = session.info.get(_MEMO)
    if memo is not None and transaction is not None and memo[0] is transaction:
        return memo[1]  # type: ignore[no-any-return]
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    adapted = raw.dbapi_connection
    if adapted._transaction is None and not adapted.autocommit:  # noqa: SLF001 - see above
        await adapted._start_transaction()  # noqa: SLF001
    found = Driver(raw.driver_connection, conn.sync_connection)
    session.info[_MEMO] = (session.sync_session.get_transaction(), found)
    return found


_MEMO = "hub.fastsql.driver"


class Statement:
    """A Core statement compiled once for PostgreSQL (``pg`` when that dialect needs another
    form, e.g. ``= ANY(array)`` for an expanding ``IN``); ``stmt`` runs everywhere else."""

    __slots__ = ("_defaults", "_names", "_rows", "_sql", "stmt")

    def __init__(self, stmt: Executable, pg: Executable | None = None) -> None:
        self.stmt = stmt
        compiled = (pg if pg is not None else stmt).compile(dialect=_PG)
        if "POSTCOMPILE" in str(compiled):
            raise ValueError("expanding parameters do not run on asyncpg directly; pass pg= with = ANY()")
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
            return await (await driver(session)).fetch(self._sql, args)
        result = await session.execute(self.stmt, params)
        return list(result.all()) if self._rows else []
