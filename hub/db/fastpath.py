"""The driver path: hot PostgreSQL statements on the asyncpg connection beneath a session.

SQLAlchemy's public way to run SQL text (``AsyncConnection.exec_driver_sql``) costs about 70 µs
of CPU per statement above asyncpg's own work: greenlet hops, an execution context, a cursor
result and its rows. ``orderCreate`` runs three statements, and measured in one process with
both paths interleaved the public path cost 11–22 % more CPU per order (9–14 % per catalog
page; docs/benchmarks.md, "Fast SQL path: public API vs driver (issue 8)"). So sessions of a
PostgreSQL :class:`~hub.db.Database` carry a :class:`DriverRunner` in ``session.info`` under
:data:`hub.domain.fastsql.SQL_RUNNER`, and ``hub.domain.fastsql`` uses it when it is there (the
domain never imports this module); without it the same statements run through
``exec_driver_sql``. ``Database(..., driver_path=False)`` leaves it out.

**The seam rests on SQLAlchemy's asyncpg adapter** (pinned to 2.1 in ``pyproject.toml``): the
adapter begins its asyncpg transaction lazily, at the first statement it runs, so a statement
sent to asyncpg first would run outside the transaction (in autocommit). The runner therefore
calls the adapter's own ``_start_transaction()`` when ``_transaction`` is still ``None`` and
the connection is not in autocommit (read sessions on PostgreSQL are). That is the only private
API here; ``tests/db/test_fastpath.py`` pins its behaviour (the transaction is begun, statements
run inside it and see its earlier writes, a rollback undoes them, autocommit reads stay
autocommit) and runs the same statements through both paths.

What it keeps of SQLAlchemy: it fires ``before_cursor_execute`` and ``after_cursor_execute``
on the session's connection for every statement (the cursor and context arguments are
``None``); a statement refused by the database raises SQLAlchemy's ``IntegrityError`` (for
integrity violations) or ``DBAPIError`` with asyncpg's exception as ``orig`` (``sqlstate`` on
it). What it does not: ``handle_error`` listeners and the disconnect check do not run for these
statements (a broken connection surfaces at the next statement or the rollback), and rows are
asyncpg ``Record`` objects (indexable by position, like SQLAlchemy's ``Row``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["DriverRunner"]

_MEMO = "hub.db.fastpath.driver"


class DriverRunner:
    """Runs PostgreSQL SQL text (``$1`` parameters) on the asyncpg connection beneath a
    session, inside the session's transaction (see the module's docstring)."""

    __slots__ = ()

    async def _connection(self, session: AsyncSession) -> tuple[Any, Any]:
        """(asyncpg connection, SQLAlchemy sync connection) of the session's transaction,
        with the database transaction begun; remembered for that transaction (its connection
        goes back to the pool when it ends)."""
        transaction = session.sync_session.get_transaction()
        memo = session.info.get(_MEMO)
        if memo is not None and transaction is not None and memo[0] is transaction:
            return memo[1], memo[2]
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        adapted: Any = raw.dbapi_connection
        if adapted._transaction is None and not adapted.autocommit:  # noqa: SLF001 - see the docstring
            await adapted._start_transaction()  # noqa: SLF001
        found = (raw.driver_connection, conn.sync_connection)
        session.info[_MEMO] = (session.sync_session.get_transaction(), *found)
        return found

    async def fetch(self, session: AsyncSession, sql: str, args: Sequence[Any]) -> list[Any]:
        """Every row the statement returns (none for a statement without rows).

        Raises:
            sqlalchemy.exc.IntegrityError: an integrity constraint refused it.
            sqlalchemy.exc.DBAPIError: the database refused it otherwise.
        """
        apg, sync = await self._connection(session)
        dispatch = sync.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(sync, None, sql, args, None, False)
        try:
            rows: list[Any] = await apg.fetch(sql, *args)
        # Parameters are hidden: they carry customers' notes and keys, and the error's text can
        # reach a log (SQLAlchemy hides them only with the engine's hide_parameters).
        except asyncpg.IntegrityConstraintViolationError as e:
            raise IntegrityError(sql, args, e, hide_parameters=True) from e
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as e:
            raise OperationalError(sql, args, e, hide_parameters=True) from e
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            raise DBAPIError(sql, args, e, hide_parameters=True) from e
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(sync, None, sql, args, None, False)
        return rows
