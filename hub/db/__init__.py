"""Engine, sessions and the unit of work.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every *write*
transaction begins ``IMMEDIATE``: Python's sqlite3 otherwise starts a deferred transaction
whose read lock must later be upgraded, which fails at once with "database is locked" when two
writers race. Read transactions stay deferred so readers never queue behind writers.

PostgreSQL runs through asyncpg at READ COMMITTED; writers lock the rows they change. Its
sessions carry the driver path for hot statements (:mod:`hub.db.fastpath`, the seam
``hub.domain.fastsql.SQL_RUNNER``).

Limits (docs/security.md, "Query cost, timeouts and the pool"):

- **statement timeout**: every PostgreSQL connection is opened with ``statement_timeout`` set
  (``HUB_DB_STATEMENT_TIMEOUT_MS``, 5 s; asyncpg's ``server_settings``, so it costs no
  statement and covers the driver path too). PostgreSQL stops a statement that runs longer
  (including time spent waiting for a lock) with SQLSTATE 57014, which the API answers as a
  ``TIMEOUT`` error. Background workers use the same connections and limit: their statements
  are keyed reads and writes of one batch, and a job whose statement is stopped is retried
  like any failed job. Migrations open theirs with ``statement_timeout_ms=0`` (none): building
  an index on a large table may take minutes. SQLite has no statement timeout; the API bounds
  a query's whole execution instead (``HUB_REQUEST_TIMEOUT_MS``, hub/schema/build.py).
- **pool timeout**: a session waits at most ``HUB_DB_POOL_TIMEOUT_SECONDS`` (3 s) for a pooled
  connection, then SQLAlchemy raises :class:`sqlalchemy.exc.TimeoutError`, which the API
  answers with HTTP 503, ``Retry-After`` and an ``UNAVAILABLE`` error (SQLAlchemy's default
  is 30 s, long enough for one expensive client to stall everyone's requests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from hub.db.fastpath import DriverRunner
from hub.domain.fastsql import SQL_RUNNER
from hub.settings import Settings

__all__ = ["Database"]

_WRITE = "hub_write"


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not pysqlite) emit BEGIN, so we choose its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class Database:
    """Owns the engine for one event loop and hands out sessions.

    ``read()`` yields a session for queries; ``write()`` yields a session inside a write
    transaction that commits when the block ends without an exception and rolls back otherwise.
    On PostgreSQL each session carries a :class:`~hub.db.fastpath.DriverRunner` in its ``info``
    (``driver_path=False`` leaves it out: hot statements then run through SQLAlchemy's
    ``exec_driver_sql``).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        driver_path: bool = True,
        statement_timeout_ms: int | None = None,
        **engine_options: Any,
    ) -> None:
        """``statement_timeout_ms``: PostgreSQL's ``statement_timeout`` for every connection
        (None: ``settings.db_statement_timeout_ms``; 0: none)."""
        url = settings.async_database_url
        options: dict[str, Any] = {}
        if url.startswith("sqlite"):
            if ":memory:" in url:
                raise ValueError("use a file database; :memory: is per connection")
            if engine_options.pop("nullpool", False):
                options["poolclass"] = NullPool
            else:
                options["pool_timeout"] = settings.db_pool_timeout_seconds
            options["connect_args"] = {"timeout": 30}
        else:
            # Keep as many connections as requests run at once: a connection opened and
            # closed per request costs PostgreSQL a backend start each time.
            options["pool_size"] = settings.db_pool_size
            options["max_overflow"] = 10
            options["pool_pre_ping"] = False
            options["pool_timeout"] = settings.db_pool_timeout_seconds
            timeout = (
                settings.db_statement_timeout_ms if statement_timeout_ms is None else statement_timeout_ms
            )
            if timeout:
                options["connect_args"] = {"server_settings": {"statement_timeout": str(timeout)}}
        options.update(engine_options)
        self.settings = settings
        self.engine: AsyncEngine = create_async_engine(url, **options)
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)
        self._write_engine = self.engine.execution_options(**{_WRITE: True})
        # PostgreSQL reads run in autocommit: at READ COMMITTED every statement has its own
        # snapshot anyway, and it saves the BEGIN and ROLLBACK round trips of each read.
        read_engine = (
            self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # Session.info is each session's own dict, updated from this one.
        info: dict[str, Any] = {} if self.is_sqlite or not driver_path else {SQL_RUNNER: DriverRunner()}
        self._read_sessions = async_sessionmaker(read_engine, expire_on_commit=False, info=info)
        self._write_sessions = async_sessionmaker(self._write_engine, expire_on_commit=False, info=info)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; nothing it does is committed."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one write transaction: commit on success, roll back on any exception."""
        async with self._write_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
