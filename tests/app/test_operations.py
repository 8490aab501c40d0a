"""What an operator reads: /healthz, /readyz, /metrics, the access log and CORS."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from hub.app import create_app
from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.outbox.services import record_event
from hub.operations import MAX_OPERATION_NAMES, READY_TIMEOUT
from hub.settings import ConfigError, Settings
from tests.conftest import REDIS_URL
from tests.support import PASSWORD, Hub


async def _get(settings: Settings, path: str, db: Database | None = None) -> httpx.Response:
    app = create_app(settings, db=db, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        return await client.get(path)


def _metric(text_: str, name: str, **labels: str) -> float:
    """The value of sample ``name`` with exactly ``labels`` (in any order)."""
    for line in text_.splitlines():
        sample, _, value = line.rpartition(" ")
        base, _, rest = sample.partition("{")
        if base != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if found == labels:
            return float(value)
    raise AssertionError(f"{name} {labels} not in metrics")


# -- health and readiness ----------------------------------------------------------------


async def test_healthz_and_readyz_answer_200_when_the_database_is_migrated(hub: Hub) -> None:
    assert (await hub.client.get("/healthz")).json() == {"status": "ok"}
    response = await hub.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_readyz_is_503_when_migrations_are_behind(hub: Hub) -> None:
    # given a database whose recorded revision is older than the code's
    async with hub.db.read() as s:
        head = await s.scalar(text("SELECT version_num FROM alembic_version"))
    async with hub.db.write() as s:
        await s.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    try:
        # when readiness is asked
        response = await hub.client.get("/readyz")
    finally:  # the PostgreSQL test database is shared by the whole run
        async with hub.db.write() as s:
            await s.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    # then it is 503 and says what to do
    assert response.status_code == 503
    assert "migrations are at 0003" in response.json()["reason"]
    assert "hub migrate" in response.json()["reason"]


async def test_readyz_is_503_without_the_password_when_the_database_is_gone() -> None:
    # given a PostgreSQL URL with a password where nothing listens
    settings = Settings(
        database_url="postgresql://hub:s3cret-pw@127.0.0.1:9/hub", secret_key="k" * 40, redis_url=None
    )
    # when readiness is asked
    response = await _get(settings, "/readyz")
    # then it is 503 naming the database, never the URL or its password
    assert response.status_code == 503
    reason = response.json()["reason"]
    assert reason.startswith("database unreachable")
    assert "s3cret" not in response.text and "127.0.0.1" not in response.text


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never answers (a hung database)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port
    for w in held:
        w.close()
    server.close()


async def test_readyz_answers_within_its_timeout_when_the_database_hangs(silent_server: int) -> None:
    settings = Settings(
        database_url=f"postgresql://hub:pw@127.0.0.1:{silent_server}/hub", secret_key="k" * 40, redis_url=None
    )
    db = Database(settings)
    try:
        started = time.monotonic()
        response = await _get(settings, "/readyz", db)
        elapsed = time.monotonic() - started
    finally:
        await db.dispose()
    assert response.status_code == 503
    assert response.json()["reason"] == f"database did not answer within {READY_TIMEOUT:g} s"
    assert elapsed < READY_TIMEOUT + 1.5


async def test_readyz_is_503_when_the_configured_broker_is_unreachable(
    settings: Settings, db: Database
) -> None:
    response = await _get(replace(settings, redis_url="redis://:pw-secret@127.0.0.1:9/0"), "/readyz", db)
    assert response.status_code == 503
    assert response.json()["reason"].startswith("broker (Redis) unreachable")
    assert "pw-secret" not in response.text


async def test_readyz_answers_within_its_timeout_when_the_broker_hangs(
    settings: Settings, db: Database, silent_server: int
) -> None:
    started = time.monotonic()
    response = await _get(replace(settings, redis_url=f"redis://127.0.0.1:{silent_server}/0"), "/readyz", db)
    assert response.status_code == 503
    assert response.json()["reason"] == f"broker (Redis) did not answer within {READY_TIMEOUT:g} s"
    assert time.monotonic() - started < READY_TIMEOUT + 1.5


@pytest.mark.skipif(REDIS_URL is None, reason="HUB_TEST_REDIS_URL not set")
async def test_readyz_is_200_with_a_reachable_broker(settings: Settings, db: Database) -> None:
    response = await _get(replace(settings, redis_url=REDIS_URL), "/readyz", db)
    assert response.status_code == 200, response.text


# -- metrics -----------------------------------------------------------------------------


async def test_metrics_count_operations_errors_backlog_jobs_and_pool(hub: Hub) -> None:
    # given some traffic: a named query twice, an anonymous one, a syntax error
    await hub.standard()
    for _ in range(2):
        await hub.data("query Catalog { products(first: 1) { edges { node { sku } } } }", as_="acme")
    await hub.data("{ me { email } }", as_="admin")
    await hub.gql("query Broken { products(first: ")  # no parsed name: anonymous
    await hub.gql("query Unknown { nosuchfield }")
    # and an event written two minutes ago that nobody handled
    async with hub.db.write() as s:
        event_id = await record_event(s, "test.event", "order", 1, {})
        await s.execute(
            text("UPDATE outbox SET created_at = :at WHERE id = :id"),
            {"at": utcnow() - timedelta(minutes=2), "id": event_id},
        )
    # when Prometheus scrapes
    response = await hub.client.get("/metrics")
    body = response.text
    # then the text format holds every family
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert _metric(body, "hub_graphql_requests_total", operation="Catalog") == 2
    assert _metric(body, "hub_graphql_requests_total", operation="anonymous") == 2
    assert _metric(body, "hub_graphql_request_duration_seconds_count", operation="Catalog") == 2
    assert _metric(body, "hub_graphql_errors_total", operation="anonymous", kind="graphql") == 1
    assert _metric(body, "hub_graphql_errors_total", operation="Unknown", kind="graphql") == 1
    assert _metric(body, "hub_outbox_unhandled_events") == 1
    assert 110 <= _metric(body, "hub_outbox_oldest_unhandled_age_seconds") <= 600
    assert _metric(body, "hub_integration_jobs", status="FAILED") == 0
    assert _metric(body, "hub_metrics_database_up") == 1
    assert _metric(body, "hub_db_pool_size") >= 1
    assert _metric(body, "hub_db_pool_connections_in_use") >= 0
    assert _metric(body, "hub_http_responses_total", code="200") >= 5


async def test_masked_internal_errors_are_counted(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a resolver that fails unexpectedly
    await hub.standard()
    import hub.schema.integration.queries as integration_queries

    async def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(integration_queries, "list_jobs", boom)
    # when it runs
    body = await hub.gql("query Jobs { integrationJobs { edges { cursor } } }", as_="admin")
    # then the client sees a masked error and the metrics count it as internal
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    metrics = (await hub.client.get("/metrics")).text
    assert _metric(metrics, "hub_graphql_errors_total", operation="Jobs", kind="internal") == 1


async def test_operation_labels_are_bounded(hub: Hub) -> None:
    # given a client sending ever new operation names
    for i in range(MAX_OPERATION_NAMES + 20):
        await hub.gql(f"query Op{i} {{ me {{ email }} }}")
    body = (await hub.client.get("/metrics")).text
    # then the label set stops growing: later names count as "other"
    labels = set(re.findall(r'^hub_graphql_requests_total\{operation="([^"]*)"\}', body, re.M))
    assert len(labels) == MAX_OPERATION_NAMES + 1
    assert _metric(body, "hub_graphql_requests_total", operation="other") == 20


# -- the access log ------------------------------------------------------------------------


async def test_one_access_log_line_per_request(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    await hub.standard()
    caplog.set_level(logging.INFO, logger="hub.access")
    response = await hub.post({"query": "query Mine { me { email } }"}, hub.seeded.tokens["sales"])
    await hub.client.get("/healthz")
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.access"]
    rid = response.headers["x-request-id"]
    user = hub.seeded.users["sales"]
    assert len(lines) == 2
    assert re.fullmatch(rf"POST /graphql op=Mine status=200 ms=\d+\.\d rid={rid} user={user}", lines[0])
    assert re.fullmatch(r"GET /healthz op=- status=200 ms=\d+\.\d rid=\w+ user=-", lines[1])
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "hub.access")


async def test_a_login_leaves_no_password_or_token_in_any_log_record(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    # given a user, and every logger capturing at DEBUG
    await hub.standard()
    caplog.set_level(logging.DEBUG)
    # when it logs in with its password in variables, and once with a wrong one
    query = "mutation Login($e: String!, $p: String!) { tokenCreate(email: $e, password: $p) { token } }"
    ok = await hub.data(query, {"e": "admin@test.hub", "p": PASSWORD})
    await hub.gql(query, {"e": "admin@test.hub", "p": "wrong-" + PASSWORD})
    token = ok["tokenCreate"]["token"]
    await hub.post({"query": "{ me { email } }"}, token)
    # then one access line per request names the operation, and no record holds a secret
    access = [r.getMessage() for r in caplog.records if r.name == "hub.access"]
    assert [line.split(" op=")[1].split()[0] for line in access] == ["Login", "Login", "anonymous"]
    for record in caplog.records:
        text_ = record.getMessage() + repr(record.args) + repr(record.__dict__)
        assert PASSWORD not in text_ and token not in text_


async def test_a_refused_oversized_body_is_logged_too(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hub.access")
    await hub.client.post("/graphql", content=b"x" * (hub.settings.max_body_bytes + 1))
    (line,) = [r.getMessage() for r in caplog.records if r.name == "hub.access"]
    assert " op=- status=413 " in line


# -- CORS ----------------------------------------------------------------------------------


def test_cors_origins_are_read_and_malformed_ones_stop_start_up() -> None:
    env = {"HUB_CORS_ORIGINS": "https://shop.example.com, http://localhost:5173"}
    assert Settings.from_env(env).cors_origins == ("https://shop.example.com", "http://localhost:5173")
    assert Settings.from_env({}).cors_origins == ()
    for bad in ("shop.example.com", "https://shop.example.com/", "ftp://x", "*"):
        with pytest.raises(ConfigError, match="HUB_CORS_ORIGINS") as e:
            Settings.from_env({"HUB_CORS_ORIGINS": bad})
        assert "\n" not in str(e.value)


PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type",
}


async def test_cors_preflight_is_answered_for_allowed_origins_only(settings: Settings, db: Database) -> None:
    origin = "https://shop.example.com"
    async with Hub.start(replace(settings, cors_origins=(origin,)), db) as h:
        ok = await h.client.options("/graphql", headers={"origin": origin, **PREFLIGHT})
        other = await h.client.options("/graphql", headers={"origin": "https://evil.example", **PREFLIGHT})
        post = await h.client.post("/graphql", json={"query": "{ me { email } }"}, headers={"origin": origin})
        post_other = await h.client.post(
            "/graphql", json={"query": "{ me { email } }"}, headers={"origin": "https://evil.example"}
        )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == origin
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    assert post.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in post_other.headers


async def test_no_cors_headers_by_default(hub: Hub) -> None:
    origin = "https://shop.example.com"
    pre = await hub.client.options("/graphql", headers={"origin": origin, **PREFLIGHT})
    post = await hub.client.post("/graphql", json={"query": "{ me { email } }"}, headers={"origin": origin})
    assert "access-control-allow-origin" not in pre.headers
    assert "access-control-allow-origin" not in post.headers


async def test_metrics_include_the_process_collectors(hub: Hub) -> None:
    body = (await hub.client.get("/metrics")).text
    assert "process_resident_memory_bytes" in body and "python_info" in body


async def test_readyz_is_503_for_a_database_never_migrated(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/empty.db", redis_url=None)
    response = await _get(settings, "/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "database has no migrations: run hub migrate"
