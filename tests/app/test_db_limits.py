"""The database limits of issue 9, item 1: an exhausted pool answers a retryable 503, a statement
over PostgreSQL's statement timeout and a query over the request deadline answer TIMEOUT, never
a masked internal error."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.db import Database
from hub.domain.fastsql import SQL_RUNNER
from hub.settings import ConfigError, Settings
from tests.support import Hub

PRODUCTS = "{ products { edges { node { sku } } } }"


@asynccontextmanager
async def one_connection_app(settings: Settings, **changes: object) -> AsyncIterator[tuple[Hub, Database]]:
    """The app over a pool of one connection that waits 1 s for it; the callers' user checks
    are cached (60 s) so that a request reaches its resolvers without a connection."""
    limited = dataclasses.replace(
        settings, db_pool_size=1, db_pool_timeout_seconds=1, user_cache_seconds=60, **changes
    )  # type: ignore[arg-type]
    db = Database(limited, pool_size=1, max_overflow=0)
    try:
        async with Hub.start(limited, db) as hub:
            await hub.standard()
            await hub.data("{ me { id } }", as_="acme")  # the user check, cached
            yield hub, db
    finally:
        await db.dispose()


@asynccontextmanager
async def hold_the_connection(db: Database) -> AsyncIterator[None]:
    async with db.read() as session:
        await session.connection()
        yield


async def test_an_exhausted_pool_answers_503_with_retry_after(settings: Settings, db: Database) -> None:
    async with one_connection_app(settings) as (hub, small):
        # when the only connection is held while a client asks for the catalog
        async with hold_the_connection(small):
            busy = await hub.post({"query": PRODUCTS}, hub.seeded.tokens["acme"])
            # (and while another caller's user check needs a connection, before any resolver)
            user_check = await hub.post({"query": PRODUCTS}, hub.seeded.tokens["beta"])
        # then both are told to retry: 503, Retry-After, UNAVAILABLE (never INTERNAL)
        for response in (busy, user_check):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "1"
            body = response.json()
            codes = {e["extensions"]["code"] for e in body["errors"]}
            assert codes == {"UNAVAILABLE"}, body
            assert "retry" in body["errors"][0]["message"]
        # and once the connection is back the same request is served
        again = await hub.post({"query": PRODUCTS}, hub.seeded.tokens["acme"])
        assert again.status_code == 200
        assert [e["node"]["sku"] for e in again.json()["data"]["products"]["edges"]] == [
            "SKU-A",
            "SKU-B",
            "SKU-C",
        ]


async def test_a_query_over_the_request_deadline_answers_timeout(settings: Settings, db: Database) -> None:
    # given a deadline of 0.2 s, shorter than the pool's wait (1 s)
    async with one_connection_app(settings, request_timeout_ms=200) as (hub, small):
        async with hold_the_connection(small):
            # when a query cannot get a connection in time
            response = await hub.post({"query": PRODUCTS}, hub.seeded.tokens["acme"])
        # then it is stopped at the deadline and says so
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "TIMEOUT"}
        assert "0.2 s" in error["message"]
        # and the next request is served
        assert (await hub.data(PRODUCTS, as_="acme"))["products"]["edges"]


async def test_mutations_are_not_cut_by_the_request_deadline(settings: Settings, db: Database) -> None:
    async with one_connection_app(settings, request_timeout_ms=200) as (hub, small):
        async with hold_the_connection(small):
            task = asyncio.create_task(
                hub.post(
                    {
                        "query": 'mutation { orderCreate(input: {lines: [{sku: "SKU-A", quantity: 1}]}) { order { id } errors { code } } }'
                    },
                    hub.seeded.tokens["acme"],
                )
            )
            await asyncio.sleep(0.5)  # past the deadline, still waiting for the connection
        response = await task
    assert response.status_code == 200
    assert response.json()["data"]["orderCreate"]["errors"] == []


@pytest.fixture
def pg_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL's statement_timeout (SQLite has none: the request deadline bounds it)")


@pytest.mark.usefixtures("pg_only")
async def test_every_postgresql_connection_has_the_statement_timeout(settings: Settings) -> None:
    default = Database(settings)
    short = Database(dataclasses.replace(settings, db_statement_timeout_ms=150))
    none = Database(settings, statement_timeout_ms=0)
    try:
        for database, shown in ((default, "5s"), (short, "150ms"), (none, "0")):
            async with database.read() as s:
                assert (await s.execute(text("SHOW statement_timeout"))).scalar_one() == shown
            async with database.write() as s:
                assert (await s.execute(text("SHOW statement_timeout"))).scalar_one() == shown
        # a statement over it is stopped, through SQLAlchemy and through the driver path
        async with short.read() as s:
            with pytest.raises(DBAPIError) as stopped:
                await s.execute(text("SELECT pg_sleep(2)"))
        assert "statement timeout" in str(stopped.value.orig)
        async with short.write() as s:
            with pytest.raises(DBAPIError) as stopped_fast:
                await s.info[SQL_RUNNER].fetch(s, "SELECT pg_sleep(2)", [])
        assert stopped_fast.value.orig.sqlstate == "57014"
    finally:
        for database in (default, short, none):
            await database.dispose()


@pytest.mark.usefixtures("pg_only", "db")
async def test_a_statement_over_the_timeout_answers_timeout_not_internal(settings: Settings) -> None:
    # given the app with a 300 ms statement timeout, and another transaction holding SKU-A's stock
    limited = dataclasses.replace(settings, db_statement_timeout_ms=300)
    db = Database(limited)
    try:
        async with Hub.start(limited, db) as hub:
            await hub.standard()
            async with db.write() as s:
                await s.execute(text("SELECT * FROM stock FOR UPDATE"))
                # when an order must wait for that lock longer than the timeout
                body = await hub.gql(
                    'mutation { orderCreate(input: {lines: [{sku: "SKU-A", quantity: 1}]}) { order { id } errors { code } } }',
                    as_="acme",
                )
            # then it answers TIMEOUT (a GraphQL error, not INTERNAL) and wrote nothing
            assert body["data"] == {"orderCreate": None}, body
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "TIMEOUT"
            assert "time limit" in error["message"]
            assert await hub.reserved("SKU-A") == 0
    finally:
        await db.dispose()


def test_the_limits_are_settings() -> None:
    s = Settings.from_env({})
    assert (s.max_query_cost, s.db_statement_timeout_ms, s.request_timeout_ms, s.db_pool_timeout_seconds) == (
        20_000,
        5000,
        10_000,
        3,
    )
    env = {
        "HUB_MAX_QUERY_COST": "5000",
        "HUB_DB_STATEMENT_TIMEOUT_MS": "0",
        "HUB_REQUEST_TIMEOUT_MS": "2500",
        "HUB_DB_POOL_TIMEOUT_SECONDS": "2",
    }
    s = Settings.from_env(env)
    assert (s.max_query_cost, s.db_statement_timeout_ms, s.request_timeout_ms, s.db_pool_timeout_seconds) == (
        5000,
        0,
        2500,
        2,
    )
    for name in env:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: "soon"})
    with pytest.raises(ConfigError, match="HUB_DB_POOL_TIMEOUT_SECONDS"):
        Settings.from_env({"HUB_DB_POOL_TIMEOUT_SECONDS": "0"})
