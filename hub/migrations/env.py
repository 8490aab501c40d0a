"""Alembic environment: runs migrations through the hub's own async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from hub.db import Database
from hub.domain.models import Base
from hub.settings import Settings

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch operation rebuilds a table (copy, drop, rename). With foreign keys enforced,
        # dropping a table other rows refer to (customers, products) fails, so they are off
        # while migrating (before the transaction: SQLite ignores the pragma inside one) and
        # checked at the end, as SQLite's own procedure for altering a table prescribes.
        _pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        _migrate(connection)
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.commit()
            if broken:
                raise RuntimeError(f"migrations left rows with broken foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            _pragma(connection, "PRAGMA foreign_keys=ON")


def _pragma(connection: Connection, sql: str) -> None:
    """Run ``sql`` outside any transaction (on the driver's connection)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    settings = config.attributes.get("settings") or Settings.from_env()
    # No statement timeout: a migration may rewrite or index a large table.
    db = (
        Database(settings, nullpool=True)
        if settings.is_sqlite
        else Database(settings, statement_timeout_ms=0)
    )
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await db.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_main())
